import type { ClientBase } from 'pg';
import { sqlState, SQLSTATE, withContext } from '../../shared/pg-errors';

/** Partitions a write needs (the app's own writes, the back-fill, the repair): created on demand through 006's function. */

/** Those of `tables` that are partitioned (a heap or a view has no partitions to create). */
export async function partitionedOf(client: ClientBase, tables: string[]): Promise<string[]> {
  const r = await client.query<{ name: string }>(
    `SELECT t AS name FROM unnest($1::text[]) WITH ORDINALITY u(t, n) JOIN pg_class c ON c.oid = to_regclass(u.t) WHERE c.relkind = 'p' ORDER BY n`, [tables]);
  return r.rows.map((x) => x.name);
}

/**
 * Creates the monthly partitions (of `parent`) holding `dates`, months in UTC whatever the
 * session's TimeZone, as create_monthly_partition (006) bounds them. Returns the names of
 * partitions that did not exist before. Concurrent creators are tolerated (the function too).
 */
export async function ensureMonthlyPartitions(client: ClientBase, parent: string, dates: Date[]): Promise<string[]> {
  const months = await client.query<{ month: string; missing: boolean }>(
    `SELECT m::text AS month, to_regclass(format('memory_records_%s', to_char(m, 'YYYY_MM'))) IS NULL AS missing
       FROM (SELECT DISTINCT date_trunc('month', x AT TIME ZONE 'UTC')::date AS m FROM unnest($1::timestamptz[]) x) q ORDER BY m`,
    [dates.map((d) => d.toISOString())],
  );
  const created: string[] = [];
  for (const { month, missing } of months.rows) {
    try {
      const r = await client.query<{ name: string }>('SELECT create_monthly_partition($1::date, $2) AS name', [month, parent]);
      if (missing) created.push(r.rows[0].name);
    } catch (err) {
      // Another writer created it between our check and our CREATE TABLE IF NOT EXISTS.
      const code = sqlState(err);
      if (code !== SQLSTATE.duplicateTable && code !== SQLSTATE.uniqueViolation) {
        throw withContext(err, `creating the partition of ${parent} for month ${month}`);
      }
    }
  }
  return created;
}
