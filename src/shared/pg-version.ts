import type { Pool } from 'pg';

/**
 * The server's PostgreSQL version and the catalog columns and features each supported major has
 * (14–18, tested by `npm run test:pg-versions`). Catalog readers read the version once per
 * session (or descriptor) and ask this, never a column a version lacks.
 */
type Queryable = Pick<Pool, 'query'>;

/** The oldest server the tool supports: 14.0 (DETACH … CONCURRENTLY, pg_inherits.inhdetachpending). */
export const MIN_SUPPORTED_VERSION_NUM = 140000;

export interface PgFeatures {
  /** server_version_num, e.g. 140023. */
  versionNum: number;
  major: number;
  /** pg_index.indnullsnotdistinct and UNIQUE NULLS NOT DISTINCT (15). */
  nullsNotDistinct: boolean;
  /** pg_publication_namespace: publications FOR TABLES IN SCHEMA (15). */
  publicationSchemas: boolean;
  /** pg_publication_rel.prqual and prattrs: publication row filters and column lists (15). */
  publicationRowFiltersAndColumns: boolean;
  /** The MERGE command (15). */
  merge: boolean;
  /** The MAINTAIN table privilege and the pg_maintain role (17). */
  maintainPrivilege: boolean;
  /** Virtual generated columns, pg_attribute.attgenerated = 'v' (18). */
  virtualGeneratedColumns: boolean;
  /** NOT NULL constraints as pg_constraint rows (contype 'n'), and so NOT NULL … NOT VALID (18). */
  notNullConstraints: boolean;
}

export function pgFeatures(versionNum: number): PgFeatures {
  const at = (n: number) => versionNum >= n;
  return {
    versionNum,
    major: Math.floor(versionNum / 10000),
    nullsNotDistinct: at(150000),
    publicationSchemas: at(150000),
    publicationRowFiltersAndColumns: at(150000),
    merge: at(150000),
    maintainPrivilege: at(170000),
    virtualGeneratedColumns: at(180000),
    notNullConstraints: at(180000),
  };
}

/** server_version_num of the server behind `c`. */
export async function serverVersionNum(c: Queryable): Promise<number> {
  const r = await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  return Number(r.rows[0].v);
}

/** The features of the server behind `c` (one query). */
export async function readPgFeatures(c: Queryable): Promise<PgFeatures> {
  return pgFeatures(await serverVersionNum(c));
}

/** "PostgreSQL 14.23" from a server_version_num. */
export function versionLabel(versionNum: number): string {
  return `PostgreSQL ${Math.floor(versionNum / 10000)}.${versionNum % 10000}`;
}
