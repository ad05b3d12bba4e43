import crypto from 'node:crypto';
import type { Pool } from 'pg';

/** The unprivileged login role the bench's app writers connect as (cluster-wide, on the bench's own servers). */
export const BENCH_APP_ROLE = 'lichen_bench_app';
const password = crypto.randomBytes(12).toString('hex');

/**
 * Creates (or re-passwords) the app role and grants it what an application has on `table`: DML and
 * the schema's usage, nothing else. Returns `url` with the role's credentials.
 */
export async function appRole(pool: Pool, url: string, table: string): Promise<string> {
  await pool.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${BENCH_APP_ROLE}') THEN
        BEGIN CREATE ROLE ${BENCH_APP_ROLE} LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
      END IF; END $$`);
  await pool.query(`ALTER ROLE ${BENCH_APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD '${password}'`);
  await pool.query(`GRANT USAGE ON SCHEMA public TO ${BENCH_APP_ROLE}`);
  await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO ${BENCH_APP_ROLE}`);
  const u = new URL(url);
  u.username = BENCH_APP_ROLE;
  u.password = password;
  return u.toString();
}
