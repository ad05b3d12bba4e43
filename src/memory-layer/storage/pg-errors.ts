/** SQLSTATE codes the Postgres store reacts to. */
export const SQLSTATE = {
  /** check_violation: also raised as "no partition of relation … found for row". */
  CHECK_VIOLATION: '23514',
  UNIQUE_VIOLATION: '23505',
  DUPLICATE_TABLE: '42P07',
} as const;

export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A row routed to a month with no partition (SQLSTATE 23514 with this message). */
export function isMissingPartition(err: unknown): boolean {
  return sqlState(err) === SQLSTATE.CHECK_VIOLATION && /no partition of relation .* found for row/.test(String((err as Error).message));
}
