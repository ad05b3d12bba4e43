import type { ClientBase, Pool } from 'pg';
import { TOMBSTONES_TABLE } from './pg-store';

/**
 * When tombstones (memory_record_tombstones) may go. A tombstone keeps a late copy of a deleted
 * record out of Postgres: a back-fill or repair batch from a memory store, a dual-write of the
 * other store, the conversion's copy, or an update that read the row just before it was deleted.
 * Once the target's control row says persistence "postgres" with no mirror table (the final
 * cutover, or the conversion after its retention, is done) and no run is active for it, no
 * memory store and no copy can write a deleted record back; only the live update-versus-delete
 * race remains, which lasts milliseconds. So tombstones older than TOMBSTONE_GRACE_MS are
 * deleted then, and never otherwise. The memory stores drop their deleted ids when they apply
 * persistence "postgres" (DualStore.applyMode).
 *
 * Called when a run completes (finishRun); safe to call at any time (it checks the rule itself,
 * in the same statement that deletes).
 */
export const TOMBSTONE_GRACE_MS = 3_600_000;

export async function pruneTombstones(c: ClientBase | Pool, target: string, graceMs = TOMBSTONE_GRACE_MS): Promise<{ pruned: number; reason: string }> {
  const r = await c.query<{ pruned: number; ok: boolean }>(
    `WITH ok AS (
       SELECT EXISTS (SELECT 1 FROM cutover_control WHERE target = $1 AND persistence = 'postgres' AND mirror_table IS NULL)
          AND NOT EXISTS (SELECT 1 FROM cutover_runs WHERE target = $1 AND status = 'active') AS ok
     ), gone AS (
       DELETE FROM ${TOMBSTONES_TABLE} WHERE (SELECT ok FROM ok) AND deleted_at < now() - make_interval(secs => $2::double precision / 1000)
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM gone)::int AS pruned, (SELECT ok FROM ok) AS ok`,
    [target, graceMs],
  );
  const { pruned, ok } = r.rows[0];
  return { pruned, reason: ok ? `persistence postgres without a mirror and no active run: tombstones older than ${graceMs / 1000} s pruned` : 'kept: a run is active, or the control row is not postgres without a mirror' };
}

/** pruneTombstones for the target of a run (cutover_runs), after the run ended. */
export async function pruneTombstonesOfRun(pool: Pool, runId: string): Promise<void> {
  const r = await pool.query<{ target: string }>(`SELECT target FROM cutover_runs WHERE run_id = $1`, [runId]);
  if (r.rows[0]) await pruneTombstones(pool, r.rows[0].target);
}
