import { Context } from '@temporalio/activity';
import type { ClientBase, Pool } from 'pg';
import type { ActivityDeps } from '../../index';
import { nonRetryable, preflightFailed, runAlreadyActive } from '../../lib/errors';
import { REPLAY_SHORT_AT, REPLAY_SHORT_AT_SWAP } from '../plan/change-log-view';
import { activeRunOf, registerRun } from '../../../src/shared/pg-catalog';
import { spellPart, spellTable } from '../../../src/conversion/choice/names';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion, type ConversionPlan, type PlanPhase } from '../plan/plan';
import type { DataFacts } from '../plan/facts';
import { dropOld, DropWaitsError, phase, runPhaseInTransaction, wholeParity } from './execute';
import { rangeCompare, rangeParity, type PartitionParity, type RangeParityCheckpoint, type Sums } from './range-parity';
import { columnIndexedSql, partitionRangeSql, rangeCompareSql, type RangeCompareSql } from '../plan/range-parity-sql';
import { scanThrottleOf, throttleScan, type ScanLimits } from './throttle';
import { lagPauseReason } from '../../lib/replica-lag';
import { dropUnlessOnlyThere, keptTables, rowsOnlyIn, type KeptTable } from '../keep-or-drop';
import { conversionNames } from '../plan/names';
import { qi } from '../../../src/conversion/choice/names';
import { createTableMaintenanceActivities } from '../../maintenance-table';
import { aheadStarts, partitionsAhead, partitionsForHeap, settlePending, type PartitionOps } from './partitions';
import { nextStart } from '../../../src/conversion/choice/intervals';
import { PENDING_NO_PARTITION } from '../plan/pending';
import type { AfterSwap } from '../plan/after-swap';
import type { ModeChoice } from '../plan/modes';
import { upsertMaintenanceSchedule } from '../../../src/maintenance/schedule';
import { InputError } from '../../../src/shared/input-reader';
import { missingPartitions, replayLog, type ReplayResult } from './change-log';
import { defaultParallelism, dropFills, snapshotCopy, type SnapshotCopyCheckpoint, type SnapshotCopyResume } from './snapshot-copy';
import { heartbeating, swapLock, swapLockTimeout, type SwapRetry } from './swap-lock';
import { appSyncCheck, checkAppSync, removeMirrorAndWait } from '../app-sync';
import { appInput, judgedCovered, markCovered, mirrorsInto, finishSwapBackMirror, finishSwapMirror, mirrorBackInSwapBack, mirrorToOldInSwap, type GenericAppSync, type MirrorNames } from './app-mirror';

/** Every generic activity takes the choice and the instant the run planned at (same partitions on every recompute). */
export interface GenericInput {
  profile: string;
  choice: ConversionChoice;
  /** Epoch ms of the run's plan (the workflow's start): every recompute plans the same partitions. */
  planAt: number;
  lockTimeoutMs: number;
  /**
   * The swap's retries of a lock timeout inside the activity (input `swap.maxTries`, `backoffMs`,
   * `maxBackoffMs`; locks.ts): after `maxTries` it stops for an operator (SwapLockTimeout).
   * Absent (runs started before it was carried): 20 tries, backoff 100 ms to 2 s.
   */
  swapRetry?: SwapRetry;
  /**
   * The data facts preflight read (its one full scan), carried so no later activity scans the
   * table again to re-plan. Absent (runs started before it was carried): each plan reads them.
   */
  facts?: DataFacts | null;
  /**
   * The replica-lag throttle of every scan (the input's copy.maxReplicaLagMs and
   * copy.maxSlotRetainedWalBytes; generic/throttle.ts). Absent when no limit is on.
   */
  throttle?: ScanLimits;
  /**
   * The change-log engine (patch generic-change-log, decided once at the run's start): the
   * trigger logs keys, the copy reads one snapshot into plain tables, the log is replayed and its
   * tail drained in the swap. Absent: the row-sync engine of runs started before it.
   */
  engine?: 'change-log';
  /**
   * Sync "app-dual-write" (the row-sync engine without a trigger; generic/app-mirror.ts): the
   * application mirrors every write into the shadow. Absent: the trigger.
   */
  app?: GenericAppSync;
}

/** The plan's fixed decisions from a run's input. */
const fixedOf = (i: Pick<GenericInput, 'engine' | 'app'>) => (i.engine === 'change-log' ? { changeLog: true } : i.app ? { appSync: true } : {});

/** The mirror's names of the table (sync "app-dual-write"): before the swap `table` is the heap, after it the partitioned table; the names are the same. */
async function mirrorNames(c: Pick<ClientBase, 'query'>, table: string): Promise<MirrorNames> {
  const n = conversionNames(await nameParts(c, table));
  return { schema: n.schema, shadow: n.shadowName, old: n.oldName };
}

/** What the history records of the plan: bounded, never the statements themselves. */
export interface PlanSummary {
  table: string;
  ok: boolean;
  blockers: { code: string; object: string; message: string; options: string[] }[];
  decisions: { code: string; object: string; choice: string }[];
  /** The plan's "what changes for your application" section (messages bounded). */
  appChanges: { kind: string; object: string; severity: string; message: string }[];
  names: ConversionPlan['names'];
  partitions: { count: number; first: string | null; last: string | null; default: string | null };
  size: ConversionPlan['size'];
  statements: Record<string, number>;
  /** Free disk is not readable from SQL: the copy needs about the table's total size again. */
  disk: { copyNeedsBytes: number };
  /** Partitions ahead, the maintenance Schedule (or why none), a write beyond the partitions. */
  afterSwap?: AfterSwap;
  /** The data facts of preflight's scan (rows, the column's range): carried into every later activity's input. */
  facts?: DataFacts | null;
  /** Both modes with their cost and the one recommended (absent in plans recorded before modes). */
  modes?: ModeChoice;
  /** Mode attach: the bound chosen at preflight (epoch ms, carried to every later step), the history partition and the new partitions. */
  attach?: { bound: number; boundText: string; history: string; partitions: string[] };
  /** Sync "app-dual-write": the control-plane key the app's mirror is set under, the mirror's names (unquoted), the live instances and control row at preflight. */
  appSync?: { target: string; shadow: string; old: string; instances: string[]; control: string };
}

/** The statements that run after the swap (recorded before it: the catalog no longer plans them afterwards). */
export interface PostSwapStatements {
  table: string;
  old: string;
  column: string;
  columnType: string;
  swapBack: string[];
  drop: string[];
  /** Materialized views refilled after a swap back commits (absent in runs recorded before it). */
  refresh?: string[];
  /**
   * The post-swap and retention checks per range of the key: the partitioned table (`heap`, whose
   * keys make the ranges) against the old heap (`shadow`). Absent in runs recorded before it: the
   * check compares the whole tables in one snapshot.
   */
  ranges?: { sql: RangeCompareSql; keyLength: number };
  /**
   * The same checks per partition of the partitioned table (runs with patched(generic-post-swap-partitions)):
   * the old heap's rows of each bound through its index on the column (`heap` side) against the partition
   * read whole (`shadow` side), a result per partition. Absent when the heap has no index leading with the
   * column (then key ranges) and in runs recorded before it.
   */
  partitions?: { sql: RangeCompareSql; keyLength: number; column: string; type: string };
}

export function summarisePlan(p: ConversionPlan): PlanSummary {
  return {
    table: p.table,
    ok: p.ok,
    blockers: p.blockers.map((b) => ({ code: b.code, object: b.object, message: b.message, options: b.options.map((o) => `${o.choice}: ${o.effect}`) })),
    decisions: p.decisions.map((b) => ({ code: b.code, object: b.object, choice: b.resolution!.choice })),
    appChanges: (p.appChanges ?? []).slice(0, 50).map((x) => ({ kind: x.kind, object: x.object, severity: x.severity, message: x.message.length > 1000 ? `${x.message.slice(0, 1000)}…` : x.message })),
    names: p.names,
    partitions: { count: p.partitions.count, first: p.partitions.first, last: p.partitions.last, default: p.partitions.default },
    size: p.size,
    statements: Object.fromEntries(p.phases.map((x) => [x.phase, x.statements.length])),
    disk: { copyNeedsBytes: p.size.copyNeedsBytes },
    afterSwap: p.afterSwap,
    facts: p.facts,
    ...(p.modes ? { modes: p.modes } : {}),
    ...(p.attach ? { attach: { bound: p.attach.bound, boundText: p.attach.boundText, history: p.attach.history, partitions: p.attach.partitionNames } } : {}),
  };
}

/**
 * Runs `fn` with row_security off for the session (as every session of the worker's pools is,
 * src/config/profiles.ts; said again here, where it matters most): a policy that would hide a row
 * from this role raises an error (42501) instead of filtering it, so the copy never copies less
 * than the table holds unseen. The plan refuses a role that cannot bypass the table's policies.
 */
async function withEveryRow<T>(c: ClientBase, fn: () => Promise<T>): Promise<T> {
  await c.query('SET row_security = off');
  return fn();
}

async function relkindOf(c: Pick<ClientBase, 'query'>, qualified: string): Promise<string | null> {
  const r = await c.query<{ k: string | null }>(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k`, [qualified]);
  return r.rows[0]?.k ?? null;
}

/** The table is swapped: it is partitioned and the old heap sits beside it. */
async function isSwapped(c: Pick<ClientBase, 'query'>, table: string, old: string): Promise<boolean> {
  return (await relkindOf(c, table)) === 'p' && (await relkindOf(c, old)) === 'r';
}

/** What a swap back did with the partitioned table. */
export interface SwapBackResult {
  swappedBack: boolean;
  /** The partitioned table held nothing the old table lacked (compared under the swap back's locks) and was dropped. */
  droppedPartitioned?: boolean;
  /** The partitioned table, kept aside: it held rows (or versions) the old table lacks. */
  kept?: KeptTable;
  /** A retried swap back: tables an earlier rollback kept aside. */
  keptEarlier?: string[];
  /** The swap back's transaction, BEGIN to COMMIT (ms). */
  lockMs?: number;
}

async function nameParts(c: Pick<ClientBase, 'query'>, table: string): Promise<{ schema: string; name: string }> {
  const r = await c.query<{ schema: string; name: string }>(`SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, [table]);
  if (!r.rows[0]) throw nonRetryable('PreflightFailed', `${table} does not exist`);
  return r.rows[0];
}

/**
 * The table's key in the run registry (cutover_runs.target, one active run per target): `name` for a
 * table in `public`, else `schema.name`, each part spelled as an input would (quoted only when it
 * must be). The same key as every other workflow's: memory_records' production cutover and its
 * conversion register `memory_records`, and the memory-layer app looks for an active run there.
 */
export async function registryTarget(c: Pick<ClientBase, 'query'>, table: string): Promise<string> {
  const { schema, name } = await nameParts(c, table);
  return schema === 'public' ? spellPart(name) : spellTable({ schema, name });
}

const shadowNameOf = async (c: Pick<ClientBase, 'query'>, post: PostSwapStatements) => conversionNames(await nameParts(c, post.table)).shadowName;

async function alreadyKept(c: Pick<ClientBase, 'query'>, schema: string, name: string): Promise<Pick<SwapBackResult, 'keptEarlier'>> {
  const t = await keptTables(c, schema, name);
  return t.length ? { keptEarlier: t } : {};
}

function stmtPlan(table: string, name: PlanPhase['phase'], statements: string[]): ConversionPlan {
  return { table, blockers: [], phases: [{ phase: name, what: name, statements }] } as unknown as ConversionPlan;
}

/**
 * Parity's ranges over the partitions: the column's base type and the key's, when the heap has a
 * btree index leading with the column (each range reads its bound's rows through it); without
 * one, none (key ranges: a range per partition would scan the whole heap each time).
 */
async function partitionRanges(c: Pick<ClientBase, 'query'>, p: ConversionPlan, column: string): Promise<{ column: string; type: string; keyTypes: string[] } | undefined> {
  if (!(await c.query<{ indexed: boolean }>(columnIndexedSql, [p.table, column])).rows[0].indexed) return undefined;
  const keyTypes: string[] = [];
  for (const k of p.key!.columns) keyTypes.push(await columnType(c, p.table, k));
  return { column, type: await columnType(c, p.table, column), keyTypes };
}

/** The partition column's type for parity's bounds: a domain's base type (its CHECK or NOT NULL must not refuse ±infinity). */
export async function columnType(c: Pick<ClientBase, 'query'>, table: string, column: string): Promise<string> {
  const r = await c.query<{ t: string }>(
    `SELECT CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE format_type(a.atttypid, a.atttypmod) END AS t
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = to_regclass($1) AND a.attname = $2`, [table, column]);
  return r.rows[0].t;
}

function upToDate(plan: ConversionPlan): ConversionPlan {
  if (!plan.ok || plan.phases.length === 0) {
    throw nonRetryable('PlanChanged', `the plan of ${plan.table} is blocked now (${plan.blockers.map((b) => `${b.code} ${b.object}`).join(', ')}): the table changed since preflight`);
  }
  return plan;
}

/** The refill of the materialized views after a swap (plan phase `refresh`; none without one). */
const refreshOf = (p: ConversionPlan): string[] => p.phases.find((x) => x.phase === 'refresh')?.statements ?? [];

/**
 * `cutover plan` with sync "app-dual-write": the app cannot mirror the table now (no live
 * instance on the control plane, one not in Postgres, another mirror in force) is a blocker of
 * the plan, as preflight refuses it (appSyncCheck). Read-only.
 */
export async function appSyncBlocker(c: Pick<ClientBase, 'query'>, table: string): Promise<ConversionPlan['blockers'][number] | null> {
  const target = await registryTarget(c, table);
  const r = await appSyncCheck(c, { target, shadow: (await mirrorNames(c, table)).shadow });
  return 'problem' in r ? { code: 'app-sync-unavailable', object: target, message: r.problem, options: [] } : null;
}

/**
 * Sync "app-dual-write", before the shadow (or, after a swap back, the partitioned table) is
 * dropped: the app must stop mirroring into it first, but from then on the table goes on taking
 * writes alone and the images differ — so they are judged before, under both tables' ACCESS
 * EXCLUSIVE locks while the mirror is still on (every write until then reached both tables in one
 * transaction, none after it reaches the shadow): a shadow holding no image the table lacks then
 * holds nothing of its own afterwards (marked so in that transaction; true: drop it). Then the
 * mirror is removed (barrier). Without a mirror on the shadow and without the mark (never
 * installed, or removed outside this run): false, the rollback's usual check decides. Idempotent.
 */
async function stopMirrorBeforeDrop(c: ClientBase, pool: Pool, a: ReturnType<typeof appInput>, p: ConversionPlan, lockTimeoutMs: number): Promise<boolean> {
  const n = await mirrorNames(c, p.table);
  if ((await relkindOf(c, p.names.shadow)) === 'p' && (await mirrorsInto(c, a, n.shadow))) {
    // A covered shadow is marked in the same transaction: a retry after the mirror's removal (a lost worker) still knows.
    await runPhaseInTransaction(c, stmtPlan(p.table, 'rollback before swap', [`LOCK TABLE ${p.table}, ${p.names.shadow} IN ACCESS EXCLUSIVE MODE`]), 'rollback before swap', lockTimeoutMs, 100,
      async (t) => ((await rowsOnlyIn(t, p.names.shadow, p.table)) === 0 ? markCovered(t, p.names.shadow) : undefined));
  }
  await removeMirrorAndWait(pool, a, 'conversion rolled back: the app stops mirroring into the shadow');
  return (await relkindOf(c, p.names.shadow)) === 'p' && (await judgedCovered(c, p.names.shadow));
}

/** The shadow judged covered by stopMirrorBeforeDrop: dropped in the rollback's transaction. */
async function dropCovered(c: Pick<ClientBase, 'query'>, shadow: string): Promise<{ dropped: boolean; kept?: KeptTable }> {
  await c.query(`DROP TABLE IF EXISTS ${shadow}`);
  return { dropped: true };
}

/**
 * Swap back with sync "app-dual-write": the renames in one transaction, in it the app's mirror
 * moved back onto the partitioned table (now the shadow again) through a bridge view under the old
 * name; the partitioned table is kept (the app still mirrors into it): the rollback's next steps
 * remove the mirror, then drop it only when it holds nothing the table lacks. Then the barrier and
 * the bridge goes. Idempotent: not swapped (never, or already back) finishes the mirror's move.
 */
async function swapBackApp(c: ClientBase, pool: Pool, i: { profile: string; post: PostSwapStatements; lockTimeoutMs: number }, a: ReturnType<typeof appInput>, n: MirrorNames): Promise<SwapBackResult> {
  if (!(await isSwapped(c, i.post.table, i.post.old))) {
    await finishSwapBackMirror(pool, a, n);
    return { swappedBack: false };
  }
  const [lock, ...rest] = i.post.swapBack.filter((x) => !/^DROP TABLE /.test(x));
  // A bridge the swap left under the shadow's name (its barrier failed) is in the way of the rename: it goes under the locks.
  const statements = [lock, `DROP VIEW IF EXISTS ${qi(n.schema)}.${qi(n.shadow)}`, ...rest];
  const r = await runPhaseInTransaction(c, stmtPlan(i.post.table, 'rollback after swap', statements), 'rollback after swap', i.lockTimeoutMs, 100, (t) => mirrorBackInSwapBack(t, a, n));
  await finishSwapBackMirror(pool, a, n);
  return { swappedBack: true, droppedPartitioned: false, lockMs: r.lockMs };
}

export function createGenericConversionActivities(deps: Pick<ActivityDeps, 'profiles'>) {
  const plan = (c: ClientBase, i: GenericInput) => planConversion(c, i.choice, i.planAt, i.facts, fixedOf(i)).then(upToDate);
  const maintenance = createTableMaintenanceActivities(deps);
  const premake = maintenance.premakeTablePartitions;
  const ops = (i: { profile: string; lockTimeoutMs: number }): PartitionOps => ({ profile: i.profile, pool: deps.profiles.pool(i.profile), premake, lockTimeoutMs: i.lockTimeoutMs });
  // A run whose sync was installed before the pending table existed (an older worker): it is made here, idempotently.
  // The change-log engine has no pending keys (the replay makes a logged key's partition): no side table for them.
  const ensurePending = async (i: { profile: string }, p: ConversionPlan) => {
    if (p.pending && !p.changeLog) await deps.profiles.pool(i.profile).query(p.pending.create);
  };
  const refresh = async (i: { profile: string }, statements: string[]) => {
    const pool = deps.profiles.pool(i.profile);
    for (const st of statements) await pool.query(st);
    return statements.length;
  };
  return {
    /**
     * Preflight of a conversion of any table: the plan from the catalog (read-only), then, when no
     * blocker is open, the run's registry entry. Open blockers fail it, naming each and its options.
     */
    async planGenericConversion(i: GenericInput & { runId: string; workflowId: string }): Promise<PlanSummary> {
      return deps.profiles.withClient(i.profile, async (c) => {
        // The one full scan of the run: its facts go into the summary, and from there into every later activity's input.
        const p = await planConversion(c, i.choice, i.planAt, undefined, fixedOf(i));
        const summary = summarisePlan(p);
        // One active run per table, whatever the workflow: checked first (a second run is told why the shadow exists).
        const target = await registryTarget(c, p.table);
        // The key, and the quoted qualified name the conversion of any table registered under before (a run in flight on an older worker).
        const active = await activeRunOf(c, [target, p.table], i.runId);
        if (active) throw runAlreadyActive(target, active);
        if (!p.ok || p.phases.length === 0) {
          const what = p.blockers.map((b) => `${b.code} (${b.object}): ${b.message}` + (b.options.length ? `; options: ${b.options.map((o) => o.choice).join(' | ')}` : '; fix it by hand first'));
          throw preflightFailed(`${p.table} cannot be converted as asked: ${what.join('; ')}`, summary);
        }
        if ((await relkindOf(c, p.names.old)) !== null) throw preflightFailed(`${p.names.old} exists: an earlier conversion is not finished; finish or drop it first`, summary);
        const shadowKind = await relkindOf(c, p.names.shadow);
        if (shadowKind !== null) throw preflightFailed(`${p.names.shadow} exists (relkind ${shadowKind}): rename or drop it before converting`, summary);
        // A table an earlier rollback kept aside still holds partitions (and indexes) of the names this run creates.
        const { schema } = await nameParts(c, p.table);
        const taken = (await c.query<{ n: string }>(`SELECT n FROM unnest($1::text[]) n WHERE to_regclass(format('%I.%I', $2::text, n)) IS NOT NULL`, [[...p.partitions.names, ...p.indexRenames.map((r) => r.temp)], schema])).rows.map((r) => r.n);
        if (taken.length) {
          const kept = await keptTables(c, schema, (await nameParts(c, p.table)).name);
          const names = `partition or index name(s) ${taken.slice(0, 5).join(', ')}${taken.length > 5 ? ` and ${taken.length - 5} more` : ''}`;
          throw preflightFailed(kept.length
            ? `${kept.join(', ')} exists: kept aside by an earlier rollback and holding the names this conversion creates (${names}, partitions of ${kept.join(', ')}); look at it, then DROP TABLE it or rename its partitions before converting again`
            : `${names} exist in ${schema}: rename or drop them before converting`, summary);
        }
        // Sync "app-dual-write": the app can mirror this table (live instances, no other mirror in force), checked before the run registers.
        if (i.app) {
          const n = await mirrorNames(c, p.table);
          summary.appSync = { target, shadow: n.shadow, old: n.old, ...(await checkAppSync(c, { ...appInput(i.profile, { ...i.app, target }), shadow: n.shadow })) };
        }
        const other = await registerRun(c, { runId: i.runId, workflowId: i.workflowId, target, kind: 'conversion' });
        if (other) throw runAlreadyActive(target, other);
        return summary;
      });
    },

    /** The partitioned shadow, in one transaction. Idempotent: an existing shadow is this run's (preflight refused any other). */
    async createGenericShadow(i: GenericInput): Promise<{ created: boolean }> {
      return deps.profiles.withClient(i.profile, async (c) => {
        const p = await plan(c, i);
        if ((await relkindOf(c, p.names.shadow)) === 'p') return { created: false };
        await runPhaseInTransaction(c, p, 'shadow', i.lockTimeoutMs);
        return { created: true };
      });
    },

    /** The forward sync trigger, in one lock-bounded transaction. Idempotent: already there (42710) is done. */
    async installGenericSync(i: GenericInput): Promise<{ installed: boolean; tries: number; partitionsCreated: string[] }> {
      return deps.profiles.withClient(i.profile, async (c) => {
        const p = await plan(c, i);
        let r: { installed: boolean; tries: number };
        try {
          r = { installed: true, tries: (await runPhaseInTransaction(c, p, 'sync', i.lockTimeoutMs)).tries };
        } catch (err) {
          if ((err as { code?: string }).code !== '42710') throw err;
          r = { installed: false, tries: 1 };
        }
        // Rows written between the plan's scan and the installation, outside the shadow's range: their partitions, before the copy meets them.
        const made = await partitionsForHeap(ops(i), p, i.choice);
        return { ...r, partitionsCreated: made.created };
      });
    },

    /**
     * The keyset copy up to the heap's last key when it first ran, heartbeating {upper, cursor}: a
     * retry resumes from the checkpoint. Batches insert ON CONFLICT DO NOTHING, so a repeat is harmless.
     */
    async copyGeneric(i: GenericInput & { batchSize: number; maxRowsPerSecond?: number; from?: CopyCheckpoint; sliceSeconds?: number }): Promise<CopyGenericResult> {
      const ctx = Context.current();
      // A heartbeat of this attempt (a retry) wins over the checkpoint of the previous slice.
      const prior = (ctx.info.heartbeatDetails as CopyCheckpoint | undefined) ?? i.from;
      const retried = ctx.info.heartbeatDetails !== undefined;
      return deps.profiles.withClient(i.profile, (c) => withEveryRow(c, async () => {
        const p = await plan(c, i);
        await ensurePending(i, p);
        const [lastKeySql, batchSql] = phase(p, 'copy');
        const k = p.key!.columns.length;
        const upper = prior?.upper ?? (await c.query<{ last_key: string[] | null }>(lastKeySql)).rows[0]?.last_key;
        if (!upper) return { rows: 0, batches: 0, resumed: false, done: true };
        let cursor = prior?.cursor ?? Array<string | null>(k).fill(null);
        let rows = prior?.rows ?? 0;
        let batches = prior?.batches ?? 0;
        const t0 = Date.now();
        const rowsAtStart = rows;
        for (;;) {
          const r = await c.query<{ n: number; last_key: string[] | null }>(batchSql, [...cursor, ...upper, i.batchSize]);
          batches++;
          rows += r.rows[0].n;
          if (r.rows[0].last_key) cursor = r.rows[0].last_key;
          ctx.heartbeat({ upper, cursor, rows, batches });
          if (r.rows[0].n < i.batchSize) return { rows, batches, resumed: retried, done: true };
          // An abort stops the copy at the next batch (its checkpoint is heartbeated), not at its end.
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
          // A slice ends between batches: the workflow shows the progress and calls again from the checkpoint.
          if (i.sliceSeconds !== undefined && Date.now() - t0 >= i.sliceSeconds * 1000) {
            const rate = ((rows - rowsAtStart) / Math.max(1, Date.now() - t0)) * 1000;
            return { rows, batches, resumed: retried, done: false, checkpoint: { upper, cursor, rows, batches }, rowsPerSecond: Math.round(rate) };
          }
          // The rate bound (copy.maxRowsPerSecond) on what this attempt copied.
          if (i.maxRowsPerSecond) {
            // In slices, heartbeating: a long pause (a large batch at a low rate) must not look like a dead worker.
            for (let due = ((rows - rowsAtStart) / i.maxRowsPerSecond) * 1000 - (Date.now() - t0); due > 0; due = ((rows - rowsAtStart) / i.maxRowsPerSecond) * 1000 - (Date.now() - t0)) {
              await ctx.sleep(Math.min(due, 1000));
              ctx.heartbeat({ upper, cursor, rows, batches });
            }
          }
        }
      }));
    },

    /**
     * The change-log engine's copy (generic/snapshot-copy.ts): every partition of the shadow filled
     * from one exported snapshot, in `parallelism` lanes, as plain tables attached afterwards.
     * Heartbeats the partitions done; a retry keeps them and redoes the rest under a new snapshot
     * (the log is replayed from its start afterwards). An abort cancels the lanes' queries.
     */
    async copyGenericSnapshot(i: GenericInput & { parallelism?: number; maxRowsPerSecond?: number; from?: SnapshotCopyCheckpoint; sliceSeconds?: number }): Promise<CopyGenericResult & { partitions: number; parallelism: number; snapshotCheckpoint?: SnapshotCopyCheckpoint; pausedBecause?: string; resumedFrom?: SnapshotCopyResume }> {
      const ctx = Context.current();
      const beat = (ctx.info.heartbeatDetails as (SnapshotCopyCheckpoint & { pausedBecause?: string }) | undefined);
      const from = beat ? { done: beat.done, rows: beat.rows } : i.from;
      const beaten = beat;
      const pool = deps.profiles.pool(i.profile);
      const p = await deps.profiles.withClient(i.profile, (c) => plan(c, i));
      const parallelism = i.parallelism ?? (await defaultParallelism(pool));
      // The replica-lag throttle: waited for before the snapshot is exported (the heartbeat says why), asked again before each partition.
      const throttle = scanThrottleOf(i);
      if (throttle) await throttleScan(pool, throttle, (why) => ctx.heartbeat({ done: from?.done ?? [], rows: from?.rows ?? 0, ...(why ? { pausedBecause: why } : {}) }));
      const t0 = Date.now();
      const r = await snapshotCopy(pool, p, {
        parallelism, maxRowsPerSecond: i.maxRowsPerSecond, from, beat: (cp) => ctx.heartbeat(cp), signal: ctx.cancellationSignal, ...(i.sliceSeconds !== undefined ? { sliceMs: i.sliceSeconds * 1000 } : {}),
        ...(throttle ? { lagging: () => lagPauseReason(pool, throttle.limits) } : {}),
      });
      const rowsPerSecond = Math.round(((r.rows - (from?.rows ?? 0)) / Math.max(1, Date.now() - t0)) * 1000);
      // Resumed: another attempt (a worker lost, a failure) went on from what the last one left.
      return {
        rows: r.rows, batches: r.done.length, resumed: ctx.info.heartbeatDetails !== undefined || ctx.info.attempt > 1, done: r.complete, partitions: r.partitions, parallelism, rowsPerSecond,
        ...(r.pausedBecause ? { pausedBecause: r.pausedBecause } : {}),
        ...(r.complete ? {} : { snapshotCheckpoint: { done: r.done, rows: r.rows } }),
        // A retry that went on from the checkpoint an earlier attempt heartbeated: what it found done, where it went on.
        ...(beaten && ctx.info.attempt > 1 ? { resumedFrom: { attempt: ctx.info.attempt, partitionsBefore: beaten.done.length, rowsBefore: beaten.rows, resumedAt: r.firstLeft } } : {}),
      };
    },

    /**
     * The change-log engine's replay (generic/change-log.ts), until a round takes at most
     * `shortEnough` keys: each round one transaction that deletes the entries it applied, so the
     * log itself is the checkpoint (a retry goes on from what is left). Heartbeats each round.
     */
    async replayGenericLog(i: GenericInput & { shortEnough?: number }): Promise<ReplayResult> {
      const ctx = Context.current();
      return deps.profiles.withClient(i.profile, async (c) => {
        const p = await plan(c, i);
        // The replica-lag throttle before each round (its writes are WAL the standbys replay).
        const throttle = scanThrottleOf(i);
        return replayLog(ops(i), p, i.choice, {
          shortEnough: i.shortEnough ?? LOG_SHORT, maxRounds: 1000, onRound: (r) => ctx.heartbeat(r), signal: ctx.cancellationSignal,
          ...(throttle ? { beforeRound: async (r: ReplayResult) => void (await throttleScan(c, throttle, (why) => ctx.heartbeat({ ...r, ...(why ? { pausedBecause: why } : {}) }))) } : {}),
        });
      });
    },

    /**
     * Parity per key range, each range in its own short snapshot, a range that differs repaired from
     * the heap and compared again (range-parity.ts); heartbeats its checkpoint and progress. Writes
     * only the repairs (and the partitions pending keys need).
     */
    async genericParity(i: GenericInput & { maxRowsPerSecond?: number; rangeRows?: number; maxRepairs?: number; from?: RangeParityCheckpoint; sliceSeconds?: number; ranges?: 'partitions' }): Promise<GenericParityResult> {
      const throttle = scanThrottleOf(i);
      return deps.profiles.withClient(i.profile, (c) => withEveryRow(c, async () => {
        const p = await plan(c, i);
        await ensurePending(i, p);
        const settled = { created: [] as string[], replayed: 0 };
        // Writes the sync kept out of the shadow (no partition for them) are placed first, and again before a repair.
        // The change-log engine: the log is replayed (a key still in it is left out of the comparison; its image lags until then).
        const settle = async () => {
          const s = p.changeLog ? await replayLog(ops(i), p, i.choice, { shortEnough: LOG_SHORT }) : await settlePending(ops(i), p, i.choice);
          settled.created.push(...s.created);
          settled.replayed += s.replayed;
        };
        await settle();
        // New runs (`ranges: 'partitions'`): ranges over the shadow's partitions when the heap can read a bound through an index on the column.
        const parts = i.ranges === 'partitions' ? await partitionRanges(c, p, i.choice.column) : undefined;
        const budget = i.rangeRows ?? (parts ? PARITY_PARTITION_ROWS : PARITY_RANGE_ROWS);
        // The log's statistics (the tool's own small table, never analyzed by autovacuum while near empty): without them the planner
        // takes it for 1,540 rows and, for a partition's range, hashes the heap's rows to anti-join them with the log, not the log.
        if (parts && p.changeLog) await c.query(`ANALYZE ${p.changeLog.table}`);
        const r = await rangeParity(c, p, { rangeRows: budget, maxRowsPerSecond: i.maxRowsPerSecond, ...(i.maxRepairs !== undefined ? { maxRepairs: i.maxRepairs } : {}), throttle, expectedRows: i.facts?.rows ?? p.size.rows, settle, from: i.from, sliceMs: i.sliceSeconds === undefined ? undefined : i.sliceSeconds * 1000 }, parts);
        const { done, ...checkpoint } = r;
        return {
          done, checkpoint, progress: r.progress,
          match: r.differing.length === 0, table: r.table, shadow: r.shadow, ranges: r.ranges, rows: r.rows, repaired: r.repaired, differing: r.differing.slice(0, 20),
          ...(r.partitions ? { partitions: r.partitions, ...(r.partitionsOmitted ? { partitionsOmitted: r.partitionsOmitted } : {}) } : {}),
          ...(settled.replayed || settled.created.length ? { pending: settled } : {}),
        };
      }));
    },

    /** The statements after the swap (swap back, drop), taken from the plan before it. Read-only. */
    async genericPostSwapStatements(i: GenericInput): Promise<PostSwapStatements> {
      return deps.profiles.withClient(i.profile, async (c) => {
        const p = await plan(c, i);
        const key = p.key!.columns;
        const types: string[] = [];
        for (const k of key) types.push(await columnType(c, p.table, k));
        // Before the swap p.table is the heap: its index on the column is the old heap's after it.
        const parts = await partitionRanges(c, p, i.choice.column);
        return {
          table: p.table, old: p.names.old, column: i.choice.column, columnType: await columnType(c, p.table, i.choice.column), swapBack: phase(p, 'rollback after swap'), drop: phase(p, 'drop'), refresh: refreshOf(p),
          // After the swap p.table names the partitioned table and p.names.old the heap.
          ranges: { sql: rangeCompareSql({ columns: key, types }, p.table, p.names.old), keyLength: key.length },
          ...(parts ? { partitions: { sql: partitionRangeSql({ columns: key, types }, { name: parts.column, type: parts.type }, p.names.old, p.table), keyLength: key.length, column: parts.column, type: parts.type } } : {}),
        };
      });
    },

    /**
     * The swap in one lock-bounded transaction, a lock timeout retried with backoff up to
     * `swapRetry.maxTries` (heartbeating between tries; an abort ends the backoff), then a
     * non-retryable SwapLockTimeout naming the tries and the lock_timeout (the workflow waits for
     * an operator). Idempotent: already swapped is done.
     */
    async swapGeneric(i: GenericInput): Promise<SwapGenericResult> {
      return heartbeating('swap', () => deps.profiles.withClient(i.profile, async (c) => {
        const raw = await planConversion(c, i.choice, i.planAt, i.facts, fixedOf(i));
        const table = raw.table;
        const app = i.app ? { a: appInput(i.profile, i.app), n: await mirrorNames(c, table) } : undefined;
        if (await isSwapped(c, table, raw.names.old)) {
          // Swapped by an earlier attempt: its refill may not have run, nor the app's barrier (idempotent).
          const mirror = app ? { mirror: await finishSwapMirror(deps.profiles.pool(i.profile), app.a, app.n) } : {};
          const refreshed = await refresh(i, refreshOf(raw));
          return { swapped: false, tries: 0, lockMs: null, transactionMs: null, refreshed, partitionsCreated: [], ...mirror };
        }
        const p = upToDate(raw);
        await ensurePending(i, p);
        // The shadow has partitions from the run's own clock to premake ahead (a long run moved past the plan's), and no write is waiting for one.
        // With a DEFAULT partition holding rows of a range, that range's partition cannot be made: the default keeps taking them.
        const ahead = await partitionsAhead(ops(i), p, i.choice, 'shadow').catch((err: unknown) => {
          if (i.choice.options.defaultPartition) return { created: [] as string[], until: '' };
          throw err;
        });
        // The change-log engine: replayed until short outside the lock; the swap drains the rest under it.
        const settle = async () => (p.changeLog ? [...(await replayLog(ops(i), p, i.choice, { shortEnough: LOG_SHORT_AT_SWAP })).created, ...(await missingPartitions(ops(i), p, i.choice))] : (await settlePending(ops(i), p, i.choice)).created);
        const created = [...ahead.created, ...(await settle())];
        const lock = swapLock(i);
        for (let attempt = 1; ; attempt++) {
          try {
            // Sync "app-dual-write": the mirror moves to the old table in the swap's transaction (a bridge view under the shadow's name).
            const r = await runPhaseInTransaction(c, p, 'swap', lock, undefined, app ? (t) => mirrorToOldInSwap(t, app.a, app.n) : undefined);
            // After the commit: every live instance mirrors into the old table (barrier), then the bridge goes.
            const mirror = app ? { mirror: await finishSwapMirror(deps.profiles.pool(i.profile), app.a, app.n) } : {};
            // After the commit, outside the lock: the materialized views recreated WITH NO DATA are filled.
            const refreshed = await refresh(i, refreshOf(p));
            return { swapped: true, tries: r.tries, lockMs: r.lockMs, transactionMs: r.transactionMs, refreshed, partitionsCreated: created, ...mirror };
          } catch (err) {
            const code = (err as { code?: string }).code;
            if (code === '55P03') throw swapLockTimeout('the swap', table, lock, err);
            // A write pending since the settle has no partition yet: create it outside the lock, then swap again.
            if (code !== PENDING_NO_PARTITION || attempt >= 5) throw err;
            created.push(...(await settle()));
          }
        }
      }));
    },

    /**
     * At the end of the run, from the activity's own clock: the table's partitions from now to
     * premake ahead (named by the scheme, owned by the table's owner with its grants). Idempotent.
     */
    async genericPartitionsAhead(i: GenericInput): Promise<{ created: string[]; until: string }> {
      // The table is partitioned now: read as partition maintenance reads it (column type, interval, names).
      const t = await maintenance.inspectTable({ profile: i.profile, table: i.choice.table });
      const starts = aheadStarts(i.choice, Date.now());
      const r = await premake({ profile: i.profile, schema: t.schema, name: t.name, type: t.type, interval: t.interval, starts, lockTimeoutMs: i.lockTimeoutMs });
      return { created: r.created, until: new Date(nextStart(t.interval, starts[starts.length - 1])).toISOString() };
    },

    /**
     * Creates or updates the table's partitionMaintenance Schedule through the worker's Temporal
     * client, on the worker's task queue (idempotent: one Schedule per table, updated in place).
     */
    async ensureGenericMaintenanceSchedule(i: { profile: string; afterSwap: AfterSwap }): Promise<{ scheduleId: string; outcome: 'created' | 'updated'; everyHours: number; taskQueue: string }> {
      const m = i.afterSwap.maintenance;
      if (!m.schedule) throw nonRetryable('NoSchedule', m.why);
      const ctx = Context.current();
      const taskQueue = ctx.info.taskQueue;
      let outcome: 'created' | 'updated';
      try {
        outcome = await upsertMaintenanceSchedule(ctx.client, {
          scheduleId: m.scheduleId, interval: `${m.everyHours} hours`, taskQueue,
          input: { table: m.input.table, connectionProfile: i.profile, premake: m.input.premake },
          note: `partition maintenance of ${m.input.table} (made by its conversion, lichen-cutover)`,
        });
      } catch (err) {
        if (err instanceof InputError) throw nonRetryable('InvalidScheduleInput', `the maintenance Schedule's input: ${err.message}`);
        throw err;
      }
      return { scheduleId: m.scheduleId, outcome, everyHours: m.everyHours, taskQueue };
    },

    /**
     * After the swap: the partitioned table against the old heap (kept by the reverse sync), per
     * range of the key, each range in its own short snapshot, heartbeating its checkpoint and
     * progress, rate bound, in slices of `sliceSeconds` like the parity before the swap. Read-only:
     * a differing range is reported (bounds and counts), never repaired. A `post` recorded before
     * ranges compares the whole tables in one snapshot.
     */
    async genericPostSwapParity(i: { profile: string; post: PostSwapStatements; maxRowsPerSecond?: number; rangeRows?: number; expectedRows?: number; from?: RangeParityCheckpoint; sliceSeconds?: number; ranges?: 'partitions' }): Promise<PostSwapParityResult> {
      return deps.profiles.withClient(i.profile, async (c) => {
        const parts = i.ranges === 'partitions' ? i.post.partitions : undefined;
        if (parts) {
          // The old heap is the comparison's left side here (read through its index on the column), the partitioned table its right.
          const r = await rangeCompare(c, { sql: parts.sql, keyLength: parts.keyLength, left: i.post.old, right: i.post.table }, {
            rangeRows: i.rangeRows ?? PARITY_PARTITION_ROWS, maxRowsPerSecond: i.maxRowsPerSecond, expectedRows: i.expectedRows ?? 0, from: i.from,
            sliceMs: i.sliceSeconds === undefined ? undefined : i.sliceSeconds * 1000,
          }, { shadow: i.post.table, column: parts.column, type: parts.type });
          const { done, ...checkpoint } = r;
          const partitions = (r.partitions ?? []).map((x) => ({ ...x, table: x.shadow, shadow: x.table }));
          return {
            done, checkpoint, progress: r.progress, match: r.differing.length === 0, table: r.shadow, old: r.table, ranges: r.ranges, rows: r.rows,
            differing: r.differing, differingRanges: r.differingRanges ?? r.differing.length, partitions,
          };
        }
        const ranges = i.post.ranges;
        if (!ranges) {
          const r = await wholeParity(c, i.post.table, i.post.old, i.post.column, i.post.columnType);
          return { done: true, match: r.a.count === r.b.count && r.a.sum === r.b.sum, table: r.a, old: r.b };
        }
        const r = await rangeCompare(c, { sql: ranges.sql, keyLength: ranges.keyLength, left: i.post.table, right: i.post.old }, {
          rangeRows: i.rangeRows ?? PARITY_RANGE_ROWS, maxRowsPerSecond: i.maxRowsPerSecond, expectedRows: i.expectedRows ?? 0, from: i.from,
          sliceMs: i.sliceSeconds === undefined ? undefined : i.sliceSeconds * 1000,
        });
        const { done, ...checkpoint } = r;
        return { done, checkpoint, progress: r.progress, match: r.differing.length === 0, table: r.table, old: r.shadow, ranges: r.ranges, rows: r.rows, differing: r.differing, differingRanges: r.differingRanges ?? r.differing.length };
      });
    },

    /**
     * Swap back (the rollback after the swap), in one transaction: the renames, then — still under
     * its locks — the partitioned table is dropped only when it holds no row image the old table
     * lacks; otherwise it is renamed to `<name>_rolled_back` and named in the result (dropping it is
     * an operator's decision, the statement is in the result). Materialized views are refilled after
     * it commits. Idempotent: not swapped (never, or already back) is done, naming any table an
     * earlier attempt kept.
     */
    async swapBackGeneric(i: { profile: string; post: PostSwapStatements; lockTimeoutMs: number; app?: GenericAppSync }): Promise<SwapBackResult> {
      return deps.profiles.withClient(i.profile, async (c) => {
        const { schema, name } = await nameParts(c, i.post.table);
        if (i.app) {
          const r = await swapBackApp(c, deps.profiles.pool(i.profile), i, appInput(i.profile, i.app), await mirrorNames(c, i.post.table));
          if (r.swappedBack) await refresh(i, i.post.refresh ?? []);
          return r;
        }
        if (!(await isSwapped(c, i.post.table, i.post.old))) return { swappedBack: false, ...(await alreadyKept(c, schema, name)) };
        // A plan recorded before keep-or-drop ends with DROP TABLE <shadow>: never run it, the check below decides.
        const statements = i.post.swapBack.filter((x) => !/^DROP TABLE /.test(x));
        const shadow = `${qi(schema)}.${qi(await shadowNameOf(c, i.post))}`;
        const r = await runPhaseInTransaction(c, stmtPlan(i.post.table, 'rollback after swap', statements), 'rollback after swap', i.lockTimeoutMs, 100,
          (t) => dropUnlessOnlyThere(t, { candidate: shadow, reference: i.post.table, schema, base: name }));
        await refresh(i, i.post.refresh ?? []);
        const f = r.finished!;
        return { swappedBack: true, droppedPartitioned: f.dropped, lockMs: r.lockMs, ...(f.kept ? { kept: f.kept } : {}) };
      });
    },

    /**
     * The rollback before the swap: the sync goes; the shadow goes when it holds nothing the table
     * lacks (checked inside the transaction, after its locks), else it is kept aside and named. The
     * table is untouched. Idempotent (IF EXISTS).
     */
    async rollbackGenericBeforeSwap(i: GenericInput): Promise<{ kept?: KeptTable }> {
      return deps.profiles.withClient(i.profile, async (c) => {
        const p = await planConversion(c, i.choice, i.planAt, i.facts, fixedOf(i));
        if (await isSwapped(c, p.table, p.names.old)) throw nonRetryable('StillSwapped', `${p.table} is swapped: swap back first (the saga's swap back runs before this)`);
        // Sync "app-dual-write": the app stops mirroring (barrier) before the shadow goes, its images judged first (generic/app-mirror.ts).
        const covered = i.app?.target ? await stopMirrorBeforeDrop(c, deps.profiles.pool(i.profile), appInput(i.profile, i.app), p, i.lockTimeoutMs) : false;
        if ((await relkindOf(c, p.names.shadow)) === null) return {};
        // The change-log engine's plain tables a killed copy left beside the shadow.
        if (p.changeLog) await dropFills(deps.profiles.pool(i.profile), p.names.shadow);
        // Even when the table changed since preflight (a new blocker): the rollback's statements are still planned.
        const { schema, name } = await nameParts(c, p.table);
        const r = await runPhaseInTransaction(c, p, 'rollback before swap', i.lockTimeoutMs, 100,
          (t) => covered ? dropCovered(t, p.names.shadow) : dropUnlessOnlyThere(t, { candidate: p.names.shadow, reference: p.table, schema, base: name }));
        return r.finished!.kept ? { kept: r.finished!.kept } : {};
      });
    },

    /** The drop of the old table and the reverse sync; never cascades. Idempotent: gone is done. */
    async dropGenericOld(i: { profile: string; post: PostSwapStatements; lockTimeoutMs: number; swapRetry?: SwapRetry; app?: GenericAppSync }): Promise<{ dropped: boolean }> {
      return deps.profiles.withClient(i.profile, async (c) => {
        if ((await relkindOf(c, i.post.old)) === null) return { dropped: false };
        // Sync "app-dual-write": the app stops mirroring into the old table first (barrier): no write fails on a dropped table.
        if (i.app) {
          if ((await relkindOf(c, i.post.table)) !== 'p') throw nonRetryable('PreflightFailed', `refusing to drop ${i.post.old}: ${i.post.table} is not the partitioned table`);
          await removeMirrorAndWait(deps.profiles.pool(i.profile), appInput(i.profile, i.app), `conversion: retention over, ${i.post.old} is dropped`);
        }
        try {
          await dropOld(c, { ...stmtPlan(i.post.table, 'drop', i.post.drop), names: { old: i.post.old } } as ConversionPlan, swapLock(i, 50));
        } catch (err) {
          if (err instanceof DropWaitsError) throw nonRetryable('DropWaits', err.message, { dependents: err.dependents });
          throw err;
        }
        return { dropped: true };
      });
    },
  };
}
export interface SwapGenericResult {
  swapped: boolean;
  tries: number;
  /** How long the swap held its ACCESS EXCLUSIVE locks: its LOCK TABLE done to COMMIT acknowledged, in ms (null: swapped by an earlier attempt). */
  lockMs: number | null;
  /** The swap's transaction, BEGIN to COMMIT acknowledged (its lock wait included), in ms (null: swapped by an earlier attempt). */
  transactionMs: number | null;
  /** Materialized views refilled after the commit. */
  refreshed: number;
  /** Partitions the shadow got before the swap (ahead of the run's clock, or for pending writes). */
  partitionsCreated: string[];
  /** Sync "app-dual-write": the epoch that moved the app's mirror to the old table, acknowledged by every live instance (the barrier). */
  mirror?: { epoch: number; acknowledged: string[] };
}

/** The copy's resumable position: the heap's last key when it began, the last key copied, counts. */
export interface CopyCheckpoint {
  upper: string[];
  cursor: (string | null)[];
  rows: number;
  batches: number;
}

export interface CopyGenericResult {
  rows: number;
  batches: number;
  resumed: boolean;
  /** Absent in results of workers before slices: done. */
  done?: boolean;
  /** A slice ended (done false): where the next one starts, and this slice's rate. */
  checkpoint?: CopyCheckpoint;
  rowsPerSecond?: number;
}

/** The log is short when a replay round took at most this many keys (the rest waits for the next round, or the swap's drain). */
export const LOG_SHORT = REPLAY_SHORT_AT;
/** Before the swap: the tail its transaction drains under the lock stays this short (the lock's time grows with it). */
export const LOG_SHORT_AT_SWAP = REPLAY_SHORT_AT_SWAP;

/** Rows per parity range: its snapshot lasts about as long as reading this many rows on both sides. */
export const PARITY_RANGE_ROWS = 50_000;
/**
 * Rows per range over the partitions: a partition up to this many rows is one range (one snapshot
 * reading it sequentially, and its bound's rows of the heap through the column's index: about the
 * time of PARITY_RANGE_ROWS read in key order); a larger one is split into key sub-ranges of this many.
 */
export const PARITY_PARTITION_ROWS = 250_000;

export interface GenericParityResult {
  /** Every range compared (false: a slice ended; call again `from` the checkpoint). */
  done: boolean;
  checkpoint: RangeParityCheckpoint;
  progress: RangeParityCheckpoint['progress'];
  /** Every range compared so far equal (after its repairs). */
  match: boolean;
  /** Sums over the ranges (each range from its own snapshot). */
  table: Sums;
  shadow: Sums;
  ranges: number;
  rows: number;
  /** Keys re-copied from the heap by repairs. */
  repaired: number;
  /** Ranges still differing after their repairs (at most 20). */
  differing: string[];
  pending?: { created: string[]; replayed: number };
  /** Ranges over the partitions: each partition's result (absent: key ranges). */
  partitions?: PartitionParity[];
  /** Matching partitions beyond MAX_PARTITIONS, counted only. */
  partitionsOmitted?: number;
}

/** The post-swap (and retention) check: the partitioned table against the old heap. */
export interface PostSwapParityResult {
  /** Every range compared (false: a slice ended; call again `from` the checkpoint). */
  done: boolean;
  /** Every range compared so far equal (no repair after the swap). */
  match: boolean;
  /** Sums of the partitioned table and of the old heap (over the ranges, each from its own snapshot). */
  table: Sums;
  old: Sums;
  /** Absent when the whole tables were compared in one snapshot (a `post` recorded before ranges). */
  checkpoint?: RangeParityCheckpoint;
  progress?: RangeParityCheckpoint['progress'];
  ranges?: number;
  rows?: number;
  /** Ranges that differ: bounds, then both counts (the first 20), and how many differ in all. */
  differing?: string[];
  differingRanges?: number;
  /** Compared per partition: each partition's bound and counts (`table`: the partitioned table's, `shadow`: the old heap's), and whether they match. */
  partitions?: PartitionParity[];
}

export type GenericConversionActivities = ReturnType<typeof createGenericConversionActivities>;
