import type { ClientBase } from 'pg';

/**
 * The planner's estimate of a relation's rows (EXPLAIN: no row is read). It scales reltuples to the
 * relation's current size in pages, so a relation never analyzed is estimated too. `rel`: its
 * qualified, quoted name.
 */
export async function rowsEstimate(c: Pick<ClientBase, 'query'>, rel: string): Promise<number> {
  const r = await c.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM ONLY ${rel}`);
  return r.rows[0]['QUERY PLAN'][0].Plan['Plan Rows'];
}
