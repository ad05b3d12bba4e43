import crypto from 'node:crypto';
import type { Pool } from 'pg';
import { createConversionActivities } from '../activities/conversion';
import type { GenericInput, PlanSummary } from '../activities/conversion/generic/activities';
import { parseConversionChoice } from '../src/conversion/choice/choice';
import type { ProfileResolver } from '../src/config/profiles';
import { DEFAULT_COPY_BATCH, parseConversionInput } from '../workflows/conversion-input';
import { memoryRecordsPreset } from '../workflows/conversion/one-engine';
import { scanThrottle } from '../workflows/conversion/generic-input';
import { runActivity, rowsPerSecond, timed } from './env';

/**
 * The any-table engine (activities/conversion/generic/) as the bench drives it: exactly the
 * activities the workflow (workflows/conversion/generic.ts) calls, in its order, minus the
 * orchestration. Whatever the engine's copy, sync or parity becomes, these figures measure it.
 */
export const TABLE = 'public.memory_records';
export const SHADOW_OF = (table: string) => `${table}_partitioned`;
/** The workflow's default lock timeout of the swap's and the sync's transactions (workflows/conversion/generic-input.ts). */
export const LOCK_TIMEOUT_MS = 200;

/** Mode copy takes the change-log engine, as every run started on this version does (patch generic-change-log). */
export function genericInput(mode: 'copy' | 'attach' = 'copy', table = TABLE): GenericInput {
  return {
    profile: 'default',
    choice: parseConversionChoice({ table, mode, partitionBy: { column: 'created_at', interval: 'month' } }),
    planAt: Date.now(),
    lockTimeoutMs: LOCK_TIMEOUT_MS,
    ...(mode === 'copy' ? { engine: 'change-log' as const } : {}),
  };
}

/**
 * memory_records' conversion as a new run takes it: the form without `table` (`raw`, default its
 * defaults) through its preset (workflows/conversion/one-engine.ts), then the activities' input as
 * workflows/conversion/generic.ts builds it — the choice, the swap's lock_timeout and retries
 * (`swap.*`), the scan throttle — on the change-log engine (patch generic-change-log).
 */
export function presetInput(raw: Record<string, unknown> = {}): GenericInput {
  const s = memoryRecordsPreset(parseConversionInput(raw));
  return { profile: s.connectionProfile, choice: s.choice, planAt: Date.now(), lockTimeoutMs: s.lockTimeoutMs, swapRetry: s.swapRetry, ...scanThrottle(s), engine: 'change-log' };
}

/** Preflight (the one full scan of the run; registers the run), then the facts carried into every later activity, as the workflow does. */
export async function preflight(profiles: ProfileResolver, io: GenericInput): Promise<{ io: GenericInput; plan: PlanSummary }> {
  const acts = createConversionActivities({ profiles });
  const runId = crypto.randomUUID();
  const plan = await runActivity(acts.planGenericConversion, { ...io, runId, workflowId: `bench-${runId}` });
  return { io: { ...io, facts: plan.facts }, plan };
}

/** The shadow and the forward sync trigger, through the engine's own activities (its own DDL). */
export async function shadowAndSync(profiles: ProfileResolver, io: GenericInput): Promise<void> {
  const acts = createConversionActivities({ profiles });
  await runActivity(acts.createGenericShadow, io);
  await runActivity(acts.installGenericSync, io);
}

/**
 * The engine's copy, unthrottled, to its end. The change-log engine: copyGenericSnapshot (every
 * partition from one exported snapshot into a plain table, indexes built after, attached; in
 * `parallelism` lanes, default the database's cores or 2) then replayGenericLog (the keys written
 * meanwhile); the row-sync engine (runs started before it): copyGeneric's keyset batches.
 */
export async function runGenericCopy(profiles: ProfileResolver, io: GenericInput, batchSize = DEFAULT_COPY_BATCH, parallelism?: number): Promise<{ rows: number; ms: number; batches: number; parallelism: number }> {
  const acts = createConversionActivities({ profiles });
  if (io.engine === 'change-log') {
    const { result, ms } = await timed(async () => {
      const copy = await runActivity(acts.copyGenericSnapshot, { ...io, maxRowsPerSecond: 0, ...(parallelism ? { parallelism } : {}) });
      await runActivity(acts.replayGenericLog, io);
      return copy;
    });
    return { rows: result.rows, ms, batches: result.partitions, parallelism: result.parallelism };
  }
  const { result, ms } = await timed(() => runActivity(acts.copyGeneric, { ...io, batchSize, maxRowsPerSecond: 0 }));
  if (!result.done) throw new Error('the generic copy returned before its end without slices asked for');
  return { rows: result.rows, ms, batches: result.batches, parallelism: 1 };
}

/** The engine's parity as new runs call it (per partition range, each range in its own snapshot), unthrottled. */
export async function runGenericParity(profiles: ProfileResolver, io: GenericInput): Promise<{ rows: number; ms: number; ranges: number; match: boolean; partitions: number }> {
  const acts = createConversionActivities({ profiles });
  const { result, ms } = await timed(() => runActivity(acts.genericParity, { ...io, maxRowsPerSecond: 0, ranges: 'partitions' }));
  return { rows: result.rows, ms, ranges: result.ranges, match: result.match, partitions: result.partitions?.length ?? 0 };
}

/** The row checksum the engine's parity sums (plan/range-parity-sql.ts: md5 of the whole row image), as one bare scan. */
export async function bareRowChecksumScan(pool: Pool, table: string): Promise<{ rows: number; ms: number }> {
  const { result, ms } = await timed(() =>
    pool.query<{ n: string }>(`SELECT count(*)::text AS n, coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint), 0)::text AS s FROM ${table} t`),
  );
  return { rows: Number(result.rows[0].n), ms };
}

/** The limit of B2: one INSERT … SELECT of the whole heap into the same partitioned target (the engine's shadow, emptied). */
export async function insertSelectInto(pool: Pool, target: string, source: string): Promise<{ rows: number; ms: number }> {
  const { result, ms } = await timed(() => pool.query(`INSERT INTO ${target} SELECT * FROM ONLY ${source}`));
  return { rows: result.rowCount ?? 0, ms };
}

export async function countRows(pool: Pool, table: string): Promise<number> {
  return Number((await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0].n);
}

export { rowsPerSecond };
