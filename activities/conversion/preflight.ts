import type { ClientBase } from 'pg';
import type { ActivityDeps } from '../index';
import { preflightFailed, runAlreadyActive } from '../lib/errors';
import { keptTables } from './keep-or-drop';
import { HEAP, OLD, SHADOW } from './sql';
import { finishRun, registerRun, relkind } from '../../src/shared/pg-catalog';
import { pruneTombstonesOfRun } from '../../src/memory-layer/storage/tombstones';

export interface PreflightResult {
  heapRows: number;
  heapBytes: number;
  /** Months spanned by the data, 'YYYY-MM-01', oldest first (every month between min and max). */
  months: string[];
  minCreatedAt: string | null;
  maxCreatedAt: string | null;
  /** A shadow table left by an earlier, interrupted run (reused: copy and repair converge it). */
  shadowExists: boolean;
}

/** Every month between the oldest and newest created_at of `tables`, as 'YYYY-MM-01'. */
export async function monthsSpanned(c: ClientBase, tables: string[]): Promise<{ months: string[]; min: string | null; max: string | null }> {
  const bounds = tables.map((t) => `SELECT min(created_at) AS lo, max(created_at) AS hi FROM ${t}`).join(' UNION ALL ');
  const r = await c.query<{ months: string[] | null; lo: string | null; hi: string | null }>(
    `WITH b AS (SELECT min(lo) AS lo, max(hi) AS hi FROM (${bounds}) x)
     SELECT (SELECT array_agg(to_char(m, 'YYYY-MM-DD') ORDER BY m)
               FROM generate_series(date_trunc('month', b.lo), date_trunc('month', b.hi), interval '1 month') m) AS months,
            b.lo::text AS lo, b.hi::text AS hi
       FROM b`,
  );
  const row = r.rows[0];
  return { months: row?.months ?? [], min: row?.lo ?? null, max: row?.hi ?? null };
}


export function createPreflightActivities(deps: Pick<ActivityDeps, 'profiles'>) {
  return {
    /**
     * The runbook's preconditions: a heap memory_records, no leftover memory_records_old, and
     * no other active run for the target (enforced by Postgres: cutover_runs' partial unique
     * index). Idempotent: a retry of the same run finds its own row.
     */
    async conversionPreflight(input: { profile: string; target: string; runId: string; workflowId: string }): Promise<PreflightResult> {
      return deps.profiles.withClient(input.profile, async (c) => {
        const kind = await relkind(c, HEAP);
        if (kind === null) throw preflightFailed(`${HEAP} does not exist: there is nothing to convert (new installs use 002_partitions.sql)`);
        if (kind === 'p') throw preflightFailed(`${HEAP} is already partitioned: the conversion is done (run partitionMaintenance to keep partitions ahead)`);
        if (kind !== 'r') throw preflightFailed(`${HEAP} exists but is not a table (relkind ${kind})`);
        if ((await relkind(c, OLD)) !== null) {
          throw preflightFailed(`${OLD} exists: an earlier conversion is still in its retention window or was not cleaned up; finish or drop it before converting again`);
        }
        const shadowKind = await relkind(c, SHADOW);
        if (shadowKind !== null && shadowKind !== 'p') throw preflightFailed(`${SHADOW} exists and is not a partitioned table (relkind ${shadowKind}); rename or drop it`);
        // A partitioned table an earlier rollback kept aside holds the shadow's index and partition names.
        const schema = (await c.query<{ s: string }>(`SELECT n.nspname AS s FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = to_regclass($1)`, [HEAP])).rows[0].s;
        const kept = await keptTables(c, schema, HEAP);
        if (kept.length) throw preflightFailed(`${kept.join(', ')} exists: kept aside by an earlier rollback (it held rows ${HEAP} lacked) and holding the names this conversion creates; look at it, then DROP TABLE it (or rename it and its indexes and partitions) before converting again`);
        if ((await c.query(`SELECT to_regclass('cutover_runs') IS NOT NULL AS ok`)).rows[0].ok !== true) {
          throw preflightFailed('the control-plane tables are missing: apply 003_control_plane.sql (applyPlan "control") first');
        }
        const other = await registerRun(c, { runId: input.runId, workflowId: input.workflowId, target: input.target, kind: 'conversion' });
        if (other) throw runAlreadyActive(input.target, other);
        const size = await c.query<{ rows: string; bytes: string }>(
          `SELECT (SELECT count(*) FROM ${HEAP})::text AS rows, pg_total_relation_size('${HEAP}')::text AS bytes`);
        const span = await monthsSpanned(c, [HEAP]);
        return {
          heapRows: Number(size.rows[0].rows),
          heapBytes: Number(size.rows[0].bytes),
          months: span.months,
          minCreatedAt: span.min,
          maxCreatedAt: span.max,
          shadowExists: shadowKind === 'p',
        };
      });
    },

    /** Ends this run's row in cutover_runs (frees the target for the next run). Idempotent. */
    async finishConversionRun(input: { profile: string; runId: string; status: 'completed' | 'rolled_back' | 'aborted' | 'failed' }): Promise<void> {
      await deps.profiles.withClient(input.profile, (c) => finishRun(c, input.runId, input.status));
      // Retention is over and the old table gone: tombstones have nothing left to guard (tombstones.ts).
      if (input.status === 'completed') await pruneTombstonesOfRun(deps.profiles.pool(input.profile), input.runId);
    },
  };
}
