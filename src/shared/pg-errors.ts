/**
 * The SQLSTATE codes this project reacts to, by name, and how an error is mapped to one.
 * One table for the activities, the memory layer's Postgres store and the CLI
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html).
 */
export const SQLSTATE = {
  uniqueViolation: '23505',
  /** check_violation: also raised as "no partition of relation … found for row". */
  checkViolation: '23514',
  undefinedTable: '42P01',
  duplicateTable: '42P07',
  objectNotInPrerequisiteState: '55000',
  /** lock_not_available: `lock_timeout` expired while waiting for a lock. */
  lockNotAvailable: '55P03',
  cannotConnectNow: '57P03',
  sqlclientUnableToEstablishSqlconnection: '08001',
  connectionFailure: '08006',
  invalidPassword: '28P01',
  invalidCatalogName: '3D000',
  /** invalid_name: to_regclass of a malformed name raises it before PostgreSQL 16 (returns NULL from 16 on). */
  invalidName: '42602',
} as const;

export type SqlState = (typeof SQLSTATE)[keyof typeof SQLSTATE];

/** SQLSTATEs that mean "could not reach or log in to the database" (the CLI's connection exit code). */
export const CONNECTION_SQLSTATES: readonly string[] = [
  SQLSTATE.cannotConnectNow,
  SQLSTATE.sqlclientUnableToEstablishSqlconnection,
  SQLSTATE.connectionFailure,
  SQLSTATE.invalidPassword,
  SQLSTATE.invalidCatalogName,
];

/** The SQLSTATE of a node-postgres error; undefined for anything else (a connection failure has none). */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A row routed to a month with no partition (SQLSTATE 23514 with this message). */
export function isMissingPartition(err: unknown): boolean {
  return sqlState(err) === SQLSTATE.checkViolation && /no partition of relation .* found for row/.test(String((err as Error).message));
}

/** Prefixes an error's message with what was being done (once). */
export function withContext(err: unknown, what: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  if (!e.message.startsWith(`${what}: `)) e.message = `${what}: ${e.message}`;
  return e;
}
