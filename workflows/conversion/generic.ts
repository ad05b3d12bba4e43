import { ApplicationFailure, CancellationScope, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ConversionActivities } from '../../activities/conversion';
import type { CopyCheckpoint, GenericInput, GenericParityResult, PlanSummary, PostSwapParityResult, PostSwapStatements } from '../../activities/conversion/generic/activities';
import type { PartitionParity, RangeParityCheckpoint } from '../../activities/conversion/generic/range-parity';
import type { SnapshotCopyCheckpoint, SnapshotCopyResume } from '../../activities/conversion/generic/snapshot-copy';
import type { KeptTable } from '../../activities/conversion/keep-or-drop';
import { tableText } from '../../src/conversion/choice/choice';
import { parseTableName, spellPart } from '../../src/conversion/choice/names';
import { describeFailure, isFailureOfType } from '../common/failures';
import { RunController } from '../common/run-controller';
import { rollbackIncomplete, Saga, type Compensation } from '../common/saga';
import { handOver, handOverDue, isHandOver, nextChain, type ChainInfo } from '../common/continuation';
import type { ControllerSnapshot } from '../common/run-controller';
import { GENERIC_STAGE_ORDER } from './stages';
import { PATCHES } from '../patches';
import { LONG_COPY, SHORT_STEP } from '../common/timeouts';
import type { Progress, RecordedDecision, RollbackRecord, RunStatus } from '../types';
import { scanThrottle, type GenericConversionSettings } from './generic-input';
import type { ConversionOutcome } from './run';
import { recordKept } from './kept';
import { attachConversion } from './generic-attach';
import { APP_BRANCHES, appCopyHandOver, installAppMirror, withAppTarget } from './generic-app-sync';
import { dropGate, retentionWindow, type RetentionProgress, type RetentionSummary } from './retention';

export interface GenericConversionSummary {
  outcome: ConversionOutcome;
  target: string;
  cause?: string;
  plan?: PlanSummary;
  copy?: GenericCopySummary;
  /** `partitions`: per partition (bound, both counts, match, keys repaired), when parity ranged over them. */
  parity?: { match: boolean; count: string; partitions?: PartitionParity[] };
  /**
   * The swap: tries (of its last activity), how long it held ACCESS EXCLUSIVE and its whole
   * transaction (ms; null when an earlier attempt swapped), and how many times an operator
   * resumed it after its tries ran out on lock timeouts. `mirror` (sync "app-dual-write"): the
   * control epoch that moved the app's mirror to the old table, and the instances whose barrier acknowledged it.
   */
  swap?: { tries: number; lockMs?: number | null; transactionMs?: number | null; operatorRetries?: number; refreshed?: number; partitionsCreated?: string[]; mirror?: { epoch: number; acknowledged: string[] } };
  /** The post-swap check: equal, the partitioned table's count, and the ranges that differ (absent: compared whole, or none). */
  postSwap?: { match: boolean; count: string; differing?: string[]; differingRanges?: number; partitions?: PartitionParity[]; mirrored?: boolean };
  retention?: RetentionSummary;
  droppedOldTable: boolean;
  /** Tables a rollback kept aside instead of dropping (they held rows the table in use lacks), each with its drop statement. */
  keptTables?: KeptTable[];
  /** Sync "app-dual-write" (absent: the trigger): the application mirrored every write (generic-app-sync.ts). */
  sync?: 'app-dual-write';
  /** The conversion's mode (absent: copy, as every run before modes). */
  mode?: 'copy' | 'attach';
  /** Mode attach: the heap's partition, its bound, the prepare step and the rollback's moved rows. */
  attach?: { history: string; bound: string; prepared?: { indexBuilt: boolean; checkAdded: boolean; validated: boolean }; movedBack?: number; keyRestored?: boolean };
  /** After the drop: the partitions made ahead and the table's maintenance Schedule, or why there is none. */
  keepsWorking?: {
    partitionsAhead: { created: string[]; until: string };
    schedule: { scheduleId: string; outcome: 'created' | 'updated'; everyHours: number; taskQueue: string } | { skipped: string } | { failed: string };
  };
  rollbacks: RollbackRecord[];
  phases: RunStatus['phases'];
  decisions: RecordedDecision[];
  /** The chain of runs this summary ends (bounded histories): the runs before the last. */
  history?: { runs: number; continuedAt: ChainInfo['previous'] };
}

const step = proxyActivities<ConversionActivities>({ ...SHORT_STEP, startToCloseTimeout: '1 hour' });
const lockStep = proxyActivities<ConversionActivities>({ ...SHORT_STEP, startToCloseTimeout: '10 minutes' });
/**
 * The swap: its activity heartbeats every second while it tries (generic/swap-lock.ts): a lost
 * worker is replaced within seconds, and an abort reaches it within one throttled heartbeat
 * (0.8 × this timeout), ending its backoff between tries.
 */
const swapStep = proxyActivities<ConversionActivities>({ ...SHORT_STEP, startToCloseTimeout: '10 minutes', heartbeatTimeout: '10 seconds' });
const undoStep = proxyActivities<ConversionActivities>({ startToCloseTimeout: '10 minutes', retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 100, nonRetryableErrorTypes: ['StillSwapped'] } });
/** The copy: a worker silent for `copy.heartbeatTimeoutSeconds` (default 30) is replaced, the copy resumes from its checkpoint. */
const copyActs = (heartbeatSeconds: number) =>
  proxyActivities<ConversionActivities>({ ...LONG_COPY, heartbeatTimeout: `${heartbeatSeconds} seconds`, cancellationType: 'WAIT_CANCELLATION_COMPLETED' as never });

const SWAP_BACK = 'swap back';

/**
 * Runs `fn`; a failure of `type` (the swap could not take its locks, something still depends on
 * the old table) stops for an operator, who removes the cause and resumes (or aborts): retried.
 */
export async function untilDone<T>(ctl: RunController, type: string, fn: () => Promise<T>, onResume?: () => void): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isFailureOfType(err, type)) throw err;
      ctl.note(describeFailure(err));
      await ctl.waitForOperator(describeFailure(err));
      onResume?.();
    }
  }
}

/**
 * The conversion of any table from its plan (input with `table`): preflight records the plan
 * and refuses open blockers before anything changes; shadow → sync → copy → parity →
 * `before-swap` → swap → post-swap check → retention → `drop-old-table` → drop (never cascades).
 * Undo by the saga: before the swap sync and shadow go; after it the tables swap back.
 */
export async function genericConversion(s: GenericConversionSettings, rawInput: Record<string, unknown> = {}): Promise<GenericConversionSummary> {
  // Mode attach (instant conversion) is its own path; no run of the copy mode can take it (an input
  // with `mode` was refused before modes existed, and "copy" is the default).
  if (s.choice.mode === 'attach') return attachConversion(s);
  const target = tableText(s.choice.table);
  // An option chosen for a blocker always stops at before-swap: announced when the input names one.
  const o = s.choice.options;
  const anyOption = Object.keys(o.uniqueKeys ?? {}).length > 0 || o.incomingForeignKeys === 'drop' || o.defaultPartition;
  // A run that took over after a hand-over (bounded histories) carries the chain's registry key, plan time and statements;
  // the controller restores its state before installing the handlers.
  const c = s.continued;
  const ctl = new RunController('heapToPartitionedConversion', target, 'conversion', [...(s.approveBeforeSwap || anyOption ? ['before-swap'] : []), 'drop-old-table'], c?.ctl);
  const info = workflowInfo();
  const runId = c?.registryRunId ?? info.runId;
  const workflowId = info.workflowId;
  const profile = s.connectionProfile;
  const io: GenericInput = { profile, choice: s.choice, planAt: c?.planAt ?? info.startTime.getTime(), lockTimeoutMs: s.lockTimeoutMs, swapRetry: s.swapRetry, ...scanThrottle(s) };
  // Sync "app-dual-write" (generic-app-sync.ts): only from that input value, decided at the chain's start and carried.
  const app = c ? c.decided?.sync === 'app-dual-write' : s.sync === 'app-dual-write';
  if (app) io.app = { barrierTimeoutSeconds: s.appBarrierTimeoutSeconds ?? 60 };
  const saga = new Saga();
  const summary: GenericConversionSummary = { outcome: 'completed', target, ...(app ? { sync: 'app-dual-write' as const } : {}), droppedOldTable: false, rollbacks: ctl.status.rollbacks, phases: ctl.status.phases, decisions: ctl.status.decisions };
  let registered = c?.registered ?? false;
  let post: PostSwapStatements | undefined = c?.post;
  let retention: RetentionProgress | undefined = c?.retention;
  const chain: ChainInfo = c?.chain ?? { previous: [] };
  // A table the rollback kept aside (it held rows the other lacks) is named in the result; no command changes.
  const keptAside = (r: Parameters<typeof recordKept>[2]) => recordKept(ctl, summary, r);
  const undo = (key: GenericCompensationKey): Compensation => key === 'remove-shadow'
    ? { key, name: 'remove sync and shadow', undo: async () => keptAside(await undoStep.rollbackGenericBeforeSwap(io)), byHand: `${app ? `set cutover_control.mirror_table of ${summary.plan?.appSync?.target ?? target} to NULL (epoch + 1) and wait until every live instance applied it; ` : ''}drop the lichen_conversion_sync_forward trigger on ${target} and the tool's side tables beside it (<table>_lichen_log, <table>_lichen_pending, *_lichen_fill); DROP TABLE ${summary.plan!.names.shadow} only after checking it holds no row ${target} lacks (the table itself is untouched)` }
    : { key, name: SWAP_BACK, undo: async () => keptAside(await undoStep.swapBackGeneric({ profile, post: post!, lockTimeoutMs: s.lockTimeoutMs, ...(io.app ? { app: io.app } : {}) })), byHand: `rename ${target} → its shadow name and ${post!.old} → ${target} in one transaction, then remove the reverse sync; keep the partitioned table until you have checked it holds no row ${target} lacks` };
  if (c) {
    Object.assign(summary, c.summary, { history: { runs: c.chain.previous.length + 1, continuedAt: c.chain.previous } });
    for (const key of c.saga) saga.add(undo(key));
    ctl.note(`continued from run ${c.chain.previous[c.chain.previous.length - 1]?.runId} at ${c.stage} (run ${c.chain.previous.length + 1} of the chain)`);
  }
  if (summary.plan?.facts !== undefined) io.facts = summary.plan.facts;
  withAppTarget(io, summary.plan);
  // Decided once in the chain's first run and carried: the engine, slices, hand-overs in the copy and the parity.
  let changeLog = c?.decided?.engine === 'change-log';
  let sliced = c?.decided?.sliced ?? false;
  let handOverInSlices = c?.decided?.handOver ?? false;
  if (changeLog) io.engine = 'change-log';
  /** A safe point: past the history budget (and not aborted), hand over to a run that resumes at `stage` (with `at`: where in it). */
  const checkpoint = async (stage: GenericStage, at: Pick<GenericContinuation, 'copy' | 'parity' | 'rowCopy'> = {}): Promise<void> => {
    if (ctl.aborted || !handOverDue(s.history)) return;
    await handOver('heapToPartitionedConversion', () => {
      const i = workflowInfo();
      ctl.note(`history at ${i.historyLength} events, ${i.historySize} bytes (budget ${s.history.maxEvents} events, ${s.history.maxBytes} bytes): continuing as new (run ${chain.previous.length + 2} of the chain) at ${stage}`);
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      const { phases, decisions, rollbacks, ...rest } = summary;
      const carried: GenericContinuation = {
        stage, registryRunId: runId, registered, planAt: io.planAt, post, retention, ctl: ctl.snapshot(), summary: rest,
        saga: saga.keys() as GenericCompensationKey[], chain: nextChain(chain, stage),
        // Runs started before the hand-over patch carry what they always did.
        ...(handOverInSlices ? { decided: { handOver: true, sliced, ...(io.engine ? { engine: io.engine } : {}), ...(app ? { sync: 'app-dual-write' as const } : {}) }, ...at } : {}),
      };
      return { ...rawInput, continued: carried };
    });
  };
  // A run that took over after a hand-over (bounded histories) starts at the stage it carried.
  const from = c ? GENERIC_STAGE_ORDER.indexOf(c.stage) : 0;
  const reached = (st: (typeof GENERIC_STAGE_ORDER)[number]) => from <= GENERIC_STAGE_ORDER.indexOf(st);
  try {
    await ctl.runCancellable(async () => {
      if (reached('preflight')) {
        // The engine, decided once at the run's start: new runs log keys and copy under one snapshot; runs started before keep the row sync.
        // Sync "app-dual-write" takes the row-sync path: the app mirrors whole rows into the shadow, no change log.
        changeLog = !app && patched(PATCHES.genericChangeLog.id);
        if (changeLog) io.engine = 'change-log';
        // New runs hand over between copy slices and between parity slices; decided here once, carried, never re-decided.
        handOverInSlices = patched(PATCHES.genericHandOver.id);
        summary.plan = await ctl.phase('preflight', () => step.planGenericConversion({ ...io, runId, workflowId }));
        registered = true;
        io.facts = summary.plan.facts; // preflight's one scan: no later activity scans the table to re-plan
        withAppTarget(io, summary.plan);
        for (const d of summary.plan.decisions) ctl.note(`option chosen for ${d.code} (${d.object}): ${d.choice}`);
        saga.add(undo('remove-shadow'));
        await ctl.phase('create shadow', () => lockStep.createGenericShadow(io));
        // Sync "app-dual-write": the shadow's undo removes the app's mirror first (rollbackGenericBeforeSwap, given io.app).
        if (app) await installAppMirror(ctl, io, summary.plan);
        else await ctl.phase('install sync', () => lockStep.installGenericSync(io));
        // Copy and parity in slices of about `copy.sliceSeconds`, each continuing from the last one's checkpoint: the progress shows between them.
        sliced = patched(PATCHES.genericSlices.id);
      }
      if (reached('copy')) {
        // Between two copy slices a run past its budget hands over, carrying the copy's checkpoint (and its counts in the summary).
        // Sync "app-dual-write" copies by rows (copyInSlices) and hands over between its slices the same way.
        const rowCopy = app ? appCopyHandOver(c, summary, (at) => checkpoint('copy', { rowCopy: at })) : undefined;
        const safePoint = handOverInSlices ? async (copy: GenericCopySummary, at: SnapshotCopyCheckpoint) => {
          summary.copy = copy;
          await checkpoint('copy', { copy: { from: at, ...(ctl.status.progress ? { progress: ctl.status.progress } : {}) } });
        } : undefined;
        summary.copy = await ctl.phase('copy', () => changeLog ? copyByLog(ctl, s, io, c?.stage === 'copy' ? { summary: summary.copy, ...c.copy } : {}, safePoint)
          : sliced ? copyInSlices(ctl, s, io, rowCopy?.[0], rowCopy?.[1]) : copyActs(s.copyHeartbeatTimeoutSeconds).copyGeneric({ ...io, batchSize: s.batchSize, maxRowsPerSecond: s.maxRowsPerSecond }).then((r) => ({ ...r, slices: 1 })));
      }
      if (reached('verify')) {
        await ctl.phase('verify', async () => {
          // Per key range, heartbeating (a worker silent as long as the copy's bound is replaced; it resumes at its last range).
          // Between two parity slices a run past its budget hands over, carrying the parity's checkpoint.
          const safePoint = handOverInSlices ? (at: RangeParityCheckpoint) => checkpoint('verify', { parity: { from: at, ...(ctl.status.progress ? { progress: ctl.status.progress } : {}) } }) : undefined;
          const p = sliced ? await parityInSlices(ctl, s, io, c?.stage === 'verify' ? c.parity : undefined, safePoint) : await copyActs(s.copyHeartbeatTimeoutSeconds).genericParity({ ...io, maxRowsPerSecond: checkRate(s) });
          summary.parity = { match: p.match, count: p.table.count, ...(p.partitions ? { partitions: p.partitions } : {}) };
          if (p.repaired) ctl.note(`parity: ${p.repaired} key(s) re-copied from ${target} into the shadow by range repairs (${p.ranges} ranges, ${p.rows} rows)`);
          if (!p.match) throw ApplicationFailure.nonRetryable(`parity differs: ${target} ${p.table.count} rows (${p.table.sum}), shadow ${p.shadow.count} rows (${p.shadow.sum})${p.differing?.length ? `; ranges still differing after repair: ${p.differing.join('; ')}` : ''}`, 'ParityMismatch');
        });
        // An option chosen for a blocker (a key dropped or weakened, foreign keys dropped) is always approved at the swap.
        const chosen = summary.plan!.decisions.map((d) => `${d.code} ${d.object}: ${d.choice}`);
        if (chosen.length && !s.approveBeforeSwap) ctl.announceGates(['before-swap', 'drop-old-table']);
        if (s.approveBeforeSwap || chosen.length) await ctl.gate('before-swap', `parity verified; approve the atomic swap of ${target}` + (chosen.length ? ` carrying out ${chosen.join('; ')}` : ''));
        post = await step.genericPostSwapStatements(io);
        // Added before the swap: swap back is a no-op when the swap did not happen (a crash inside it is covered).
        saga.add(undo('swap-back'));
        let operatorRetries = 0;
        summary.swap = { ...(await ctl.phase('swap', () => untilDone(ctl, 'SwapLockTimeout', () => swapStep.swapGeneric(io), () => operatorRetries++))), operatorRetries };
        if (typeof summary.swap.lockMs === 'number') ctl.note(`swap: ${target} held ACCESS EXCLUSIVE for ${summary.swap.lockMs} ms (try ${summary.swap.tries})`);
        await ctl.phase('post-swap check', async () => {
          const p = await postSwapParity(ctl, s, io, post!);
          summary.postSwap = { match: p.match, count: p.table.count, ...(p.differing?.length ? { differing: p.differing, differingRanges: p.differingRanges } : {}), ...(p.partitions ? { partitions: p.partitions } : {}), ...(app ? { mirrored: summary.swap?.mirror !== undefined } : {}) };
          if (!p.match) throw ApplicationFailure.nonRetryable(`post-swap check failed: ${target} ${p.table.count} rows, ${post!.old} ${p.old.count} rows (the reverse sync lost a write)${p.differing?.length ? `; ${p.differingRanges ?? p.differing.length} range(s) differing: ${p.differing.join('; ')}${(p.differingRanges ?? 0) > p.differing.length ? '; …' : ''}` : ''}`, 'PostSwapCheckFailed');
        });
      }
      const old = post!;
      // The old table as the run names its table: a table named without its schema (memory_records' preset) names the old one so too.
      const oldShown = s.choice.table.schema === null ? spellPart(parseTableName(old.old, 'old').name) : old.old;
      if (reached('retention')) {
        await checkpoint('retention');
        await ctl.phase('retention', async () => {
          await retentionWindow(ctl, {
            minutes: s.retentionMinutes, tickMinutes: s.retentionCheckMinutes, old: oldShown, table: target, into: (ret) => (summary.retention = ret),
            resume: retention,
            safePoint: async (p) => {
              retention = p;
              await checkpoint('retention');
            },
            check: async () => {
              const h = await postSwapParity(ctl, s, io, old);
              const drifted = h.match ? [] : driftNames(h, s) ?? (h.differing?.length ? h.differing : [`${old.old} ${h.old.count} rows, ${target} ${h.table.count} rows`]);
              return { ok: h.match, drifted, health: { reverseSyncParity: h.match } };
            },
          });
        });
        retention = undefined;
      }
      await checkpoint('drop');
      await dropGate(ctl, summary.retention, oldShown);
      await ctl.phase('drop old table', () => untilDone(ctl, 'DropWaits', () => lockStep.dropGenericOld({ profile, post: old, lockTimeoutMs: s.lockTimeoutMs, swapRetry: s.swapRetry, ...(io.app ? { app: io.app } : {}) })));
      summary.droppedOldTable = true;
      saga.clear();
      if (!s.preset && patched(PATCHES.genericKeepsWorking.id)) await keepWorking(ctl, io, summary);
    });
    await ctl.phase('summary', () => step.finishConversionRun({ profile, runId, status: 'completed' }));
    ctl.setState('completed');
    return summary;
  } catch (err) {
    if (isHandOver(err)) throw err; // continued as new: the next run goes on
    return rollBackGeneric(ctl, saga, summary, err, registered, profile, runId, app ? APP_BRANCHES : undefined);
  }
}

/**
 * What drifted, when the check compared per partition: the partitions that differ — by month
 * (`2026-11`) for memory_records' preset, as its checks always named them, else by partition name.
 * Undefined when compared by key ranges (the ranges name themselves).
 */
function driftNames(h: PostSwapParityResult, s: GenericConversionSettings): string[] | undefined {
  const differ = h.partitions?.filter((x) => !x.match);
  if (!differ?.length) return undefined;
  // A month only for one of the preset's monthly partitions (the gaps around them, NULLs and a DEFAULT partition keep their names).
  return differ.map((x) => {
    const m = s.preset === 'memory_records' ? /_p(\d{4})_(\d{2})$/.exec(x.partition) : null;
    return m ? `${m[1]}-${m[2]}` : x.partition;
  });
}

/** The copy's counts in the summary: slices (copy activities) and the retries that resumed from a heartbeated checkpoint. */
export interface GenericCopySummary {
  rows: number;
  batches: number;
  resumed: boolean;
  /** Copy activities run (over the chain of runs); absent in summaries from before. */
  slices?: number;
  /** Each retry of a copy activity that went on from the checkpoint an earlier attempt heartbeated (change-log engine). */
  resumes?: SnapshotCopyResume[];
}

/** Where a row-sync copy goes on after a hand-over (sync "app-dual-write"): the last slice's checkpoint and the progress shown. */
export interface RowCopyStart { from: CopyCheckpoint; progress?: Progress }

/**
 * The copy, slice after slice from the checkpoint the last returned; the progress (rows of
 * preflight's count, rate, ETA) after each. Sync "app-dual-write" only (generic-app-sync.ts
 * `appCopyHandOver`): it goes on from `start` after a hand-over, and between two slices
 * `safePoint` may hand over (runs of the trigger's row sync pass neither: their commands are as before).
 */
async function copyInSlices(ctl: RunController, s: GenericConversionSettings, io: GenericInput, start?: { summary?: GenericCopySummary; at?: RowCopyStart }, safePoint?: (copy: GenericCopySummary, at: RowCopyStart) => Promise<void>): Promise<GenericCopySummary> {
  const acts = copyActs(s.copyHeartbeatTimeoutSeconds);
  const total = io.facts?.rows ?? 0;
  let from: CopyCheckpoint | undefined = start?.at?.from;
  let resumed = start?.summary?.resumed ?? false;
  let slices = start?.summary?.slices ?? 0;
  // The phase's total at once (a continued copy: the rows so far); rows/s and ETA after the first slice.
  ctl.setProgress(start?.at?.progress ?? { done: from?.rows ?? 0, total, unit: 'rows' });
  for (;;) {
    const r = await acts.copyGeneric({ ...io, batchSize: s.batchSize, maxRowsPerSecond: s.maxRowsPerSecond, from, sliceSeconds: s.sliceSeconds });
    slices++;
    resumed ||= r.resumed;
    if (r.done !== false || !r.checkpoint) return { rows: r.rows, batches: r.batches, resumed, slices };
    from = r.checkpoint;
    const rate = r.rowsPerSecond ?? 0;
    const progress: Progress = { done: r.rows, total: Math.max(total, r.rows), unit: 'rows', ratePerSec: rate, ...(rate > 0 ? { etaSeconds: Math.max(0, total - r.rows) / rate } : {}) };
    ctl.setProgress(progress);
    await safePoint?.({ rows: r.rows, batches: r.batches, resumed, slices }, { from, progress });
  }
}

/** Where a copy goes on after a hand-over: the summary so far, the last slice's checkpoint, the progress shown. */
interface CopyStart { summary?: GenericCopySummary; from?: SnapshotCopyCheckpoint; progress?: Progress }

/**
 * The change-log engine's copy: every partition from one snapshot (parallel lanes, heartbeating the
 * partitions done), in slices of `copy.sliceSeconds` (default 30 s) at partition granularity (a
 * slice finishes the partitions it started; the next one goes on under a new snapshot), the
 * progress (rows of preflight's count, rate, ETA) after each; then the log replayed from the heap's
 * current state until short. A table copied within one slice gives the same commands as before
 * slices (one copy, one replay). Between two slices, `safePoint` (runs with patched(generic-hand-over))
 * may hand over: the next run goes on from `start` (the checkpoint is the next slice's `from`).
 */
async function copyByLog(ctl: RunController, s: GenericConversionSettings, io: GenericInput, start: CopyStart, safePoint?: (copy: GenericCopySummary, at: SnapshotCopyCheckpoint) => Promise<void>): Promise<GenericCopySummary> {
  const acts = copyActs(s.copyHeartbeatTimeoutSeconds);
  const total = io.facts?.rows ?? 0;
  // A continued copy shows the rows copied so far (and the last rate), never 0.
  ctl.setProgress(start.progress ?? { done: start.from?.rows ?? 0, total, unit: 'rows' });
  let from = start.from;
  const copy: GenericCopySummary = { rows: start.summary?.rows ?? 0, batches: start.summary?.batches ?? 0, resumed: start.summary?.resumed ?? false, slices: start.summary?.slices ?? 0, resumes: [...(start.summary?.resumes ?? [])] };
  let r;
  for (;;) {
    r = await acts.copyGenericSnapshot({ ...io, maxRowsPerSecond: s.maxRowsPerSecond, ...(s.copyParallelism !== undefined ? { parallelism: s.copyParallelism } : {}), ...(from ? { from } : {}), sliceSeconds: s.sliceSeconds });
    copy.slices = (copy.slices ?? 0) + 1;
    copy.rows = r.rows;
    copy.batches = r.batches;
    copy.resumed ||= r.resumed;
    if (r.resumedFrom) copy.resumes!.push(r.resumedFrom);
    const rate = r.rowsPerSecond ?? 0;
    ctl.setProgress({ done: r.rows, total: Math.max(total, r.rows), unit: 'rows', ratePerSec: rate, ...(rate > 0 && r.done === false ? { etaSeconds: Math.max(0, total - r.rows) / rate } : {}) });
    if (r.done !== false || !r.snapshotCheckpoint) break;
    from = r.snapshotCheckpoint;
    await safePoint?.(copy, from);
  }
  ctl.note(`copy: ${r.rows} rows into ${r.partitions} partitions from one snapshot per slice, ${r.parallelism} lane(s)${copy.resumed ? ' (resumed)' : ''}`);
  const log = await acts.replayGenericLog(io);
  ctl.note(`change log: ${log.replayed} key(s) replayed in ${log.rounds} round(s), ${log.left} left for parity and the swap${log.created.length ? `; partitions created: ${log.created.join(', ')}` : ''}`);
  return copy;
}

/** The rows/s bound of the parity and the post-swap and retention checks: the copy's, unless the settings give the checks their own (memory_records' preset: none, as its own engine's checks had none). */
const checkRate = (s: GenericConversionSettings): number => s.checkMaxRowsPerSecond ?? s.maxRowsPerSecond;

/** Where a parity goes on after a hand-over: the last slice's checkpoint and the progress shown. */
interface RangesStart { from: RangeParityCheckpoint; progress?: Progress }

/** Parity, slice after slice of ranges; the progress after each; between two slices `safePoint` may hand over. */
async function parityInSlices(ctl: RunController, s: GenericConversionSettings, io: GenericInput, start?: RangesStart, safePoint?: (at: RangeParityCheckpoint) => Promise<void>): Promise<GenericParityResult> {
  const acts = copyActs(s.copyHeartbeatTimeoutSeconds);
  // New runs: ranges over the shadow's partitions, with a result per partition (runs before: key ranges).
  const byPartition = patched(PATCHES.genericParityByPartition.id) ? { ranges: 'partitions' as const } : {};
  const ranges = { ...(s.parityRangeRows !== undefined ? { rangeRows: s.parityRangeRows } : {}), ...(s.maxRepairRounds !== undefined ? { maxRepairs: s.maxRepairRounds } : {}) };
  return rangesInSlices(ctl, (from) => acts.genericParity({ ...io, ...byPartition, maxRowsPerSecond: checkRate(s), ...ranges, from, sliceSeconds: s.sliceSeconds }), io.facts?.rows ?? 0, start, safePoint);
}

/**
 * The post-swap and retention check: the partitioned table against the old heap per key range, in
 * slices with the progress after each (patched(generic-post-swap-ranges)); before the patch, one
 * activity comparing the whole tables in one snapshot.
 */
async function postSwapParity(ctl: RunController, s: GenericConversionSettings, io: GenericInput, post: PostSwapStatements): Promise<PostSwapParityResult> {
  if (!patched(PATCHES.genericPostSwapRanges.id)) return step.genericPostSwapParity({ profile: io.profile, post });
  const acts = copyActs(s.copyHeartbeatTimeoutSeconds);
  // In the retention window the window's own progress (minutes) stays until a check outlasts its first slice.
  const inWindow = ctl.status.phase === 'retention';
  // New runs: per partition of the partitioned table, a result per partition (runs before: key ranges).
  const byPartition = patched(PATCHES.genericPostSwapPartitions.id) ? { ranges: 'partitions' as const } : {};
  return rangesInSlices(ctl, (from) => acts.genericPostSwapParity({ profile: io.profile, post, maxRowsPerSecond: checkRate(s), expectedRows: io.facts?.rows ?? 0, from, sliceSeconds: s.sliceSeconds, ...byPartition }), inWindow ? undefined : io.facts?.rows ?? 0);
}

/**
 * A ranged comparison, slice after slice from the checkpoint the last returned; the progress
 * (rows, rows/s, ETA) after each, and `0 of total` before the first when `total` is given (a
 * comparison continued after a hand-over: `start`, its checkpoint and the progress it showed).
 * Between two slices `safePoint` (when given) may hand over.
 */
async function rangesInSlices<R extends { done: boolean; checkpoint?: RangeParityCheckpoint }>(ctl: RunController, slice: (from: RangeParityCheckpoint | undefined) => Promise<R>, total?: number, start?: RangesStart, safePoint?: (at: RangeParityCheckpoint) => Promise<void>): Promise<R> {
  let from: RangeParityCheckpoint | undefined = start?.from;
  if (start) ctl.setProgress(start.progress ?? { done: start.from.rows, total: start.from.progress.total, unit: 'rows' });
  else if (total !== undefined) ctl.setProgress({ done: 0, total, unit: 'rows' });
  for (;;) {
    const p = await slice(from);
    if (p.done || !p.checkpoint) return p;
    from = p.checkpoint;
    const g = p.checkpoint.progress;
    ctl.setProgress({ done: p.checkpoint.rows, total: g.total, unit: 'rows', ratePerSec: g.rowsPerSecond, ...(g.etaSeconds !== null ? { etaSeconds: g.etaSeconds } : {}) });
    await safePoint?.(from);
  }
}

/**
 * The table keeps working after the run: partitions from the activity's clock to premake ahead,
 * and the table's partitionMaintenance Schedule (created or updated) — or, when the input opted
 * out, a note saying why there is none and what that means.
 */
export async function keepWorking(ctl: RunController, io: GenericInput, summary: GenericConversionSummary): Promise<void> {
  // The conversion is done (the old table is gone): a failure here is reported, never rolled back.
  try {
    await keepWorkingSteps(ctl, io, summary);
  } catch (err) {
    if (ctl.isAbort(err)) throw err;
    const why = describeFailure(err);
    ctl.note(`the table's partitions ahead or its maintenance Schedule could not be made: ${why}; make them by hand (npm run maintenance:schedule -- schedule --every "24 hours" --input '${JSON.stringify({ table: summary.target })}')`);
    summary.keepsWorking = { partitionsAhead: summary.keepsWorking?.partitionsAhead ?? { created: [], until: '' }, schedule: { failed: why } };
  }
}

async function keepWorkingSteps(ctl: RunController, io: GenericInput, summary: GenericConversionSummary): Promise<void> {
  const partitionsAhead = await ctl.phase('partitions ahead', () => lockStep.genericPartitionsAhead(io));
  summary.keepsWorking = { partitionsAhead, schedule: { failed: 'not reached' } };
  ctl.note(`partitions of ${summary.target} exist until ${partitionsAhead.until}${partitionsAhead.created.length ? ` (created ${partitionsAhead.created.join(', ')})` : ''}`);
  const afterSwap = summary.plan?.afterSwap;
  if (!afterSwap) return;
  if (!afterSwap.maintenance.schedule) {
    ctl.note(afterSwap.maintenance.why);
    summary.keepsWorking = { partitionsAhead, schedule: { skipped: afterSwap.maintenance.why } };
    return;
  }
  const schedule = await ctl.phase('maintenance schedule', () => step.ensureGenericMaintenanceSchedule({ profile: io.profile, afterSwap }));
  ctl.note(`partitionMaintenance Schedule ${schedule.scheduleId} ${schedule.outcome}: every ${schedule.everyHours} h on ${schedule.taskQueue}, keeping ${afterSwap.premake} interval(s) ahead`);
  summary.keepsWorking = { partitionsAhead, schedule };
}

type GenericStage = Exclude<(typeof GENERIC_STAGE_ORDER)[number], 'preflight'>;
type GenericCompensationKey = 'remove-shadow' | 'swap-back';

/** What a generic conversion run carries to the next (workflows/common/continuation.ts). */
export interface GenericContinuation {
  stage: GenericStage;
  registryRunId: string;
  registered: boolean;
  planAt: number;
  post?: PostSwapStatements;
  retention?: RetentionProgress;
  ctl: ControllerSnapshot;
  summary: Omit<GenericConversionSummary, 'phases' | 'decisions' | 'rollbacks'>;
  saga: GenericCompensationKey[];
  chain: ChainInfo;
  /** Decided in the chain's first run, never again (absent in chains started before patched(generic-hand-over)). */
  decided?: { handOver: true; sliced: boolean; engine?: 'change-log'; sync?: 'app-dual-write' };
  /** Stage 'copy': the checkpoint the next copy slice starts from, and the progress shown. */
  copy?: { from: SnapshotCopyCheckpoint; progress?: Progress };
  /** Stage 'copy' of the row-sync copy (sync "app-dual-write"): the checkpoint the next copy slice starts from, and the progress shown. */
  rowCopy?: RowCopyStart;
  /** Stage 'verify': the checkpoint the next parity slice starts from, and the progress shown. */
  parity?: { from: RangeParityCheckpoint; progress?: Progress };
}

/** Branch labels of the rollback record (mode attach has no sync and no shadow). */
const COPY_BRANCHES = { after: 'after-swap: swapped back, sync and shadow removed', before: 'before-swap: sync and shadow removed, source untouched' };

export async function rollBackGeneric(ctl: RunController, saga: Saga, summary: GenericConversionSummary, err: unknown, registered: boolean, profile: string, runId: string, branches = COPY_BRANCHES): Promise<GenericConversionSummary> {
  const aborted = ctl.isAbort(err);
  const cause = aborted ? `aborted by ${ctl.aborted!.operator}: ${ctl.aborted!.reason}` : describeFailure(err);
  summary.cause = cause;
  ctl.setState('rolling-back', `rolling back: ${cause}`);
  const undone = saga.pending.length > 0;
  const afterSwap = summary.swap !== undefined;
  const failed = await saga.compensate(async (c) => {
    await c.undo();
    ctl.note(`compensated: ${c.name}`);
  });
  if (registered) {
    const status = failed.length ? 'failed' : aborted ? 'aborted' : 'rolled_back';
    await CancellationScope.nonCancellable(() => undoStep.finishConversionRun({ profile, runId, status })).catch((e) => {
      failed.push({ name: 'finish run', why: describeFailure(e), byHand: `UPDATE cutover_runs SET status = '${status}' for run ${runId}` });
    });
  }
  const kept = summary.keptTables?.length ? `; kept aside, not dropped: ${summary.keptTables.map((k) => k.table).join(', ')}` : '';
  if (undone) ctl.recordRollback((afterSwap ? branches.after : branches.before) + kept, cause, `heap ${summary.target} (unchanged)`);
  ctl.recordCompensationFailures(failed);
  if (failed.length) {
    ctl.setState('failed', `rollback incomplete: ${failed.map((f) => `${f.name}: ${f.why}`).join('; ')}`);
    throw rollbackIncomplete(cause, failed);
  }
  if (!registered && !aborted) {
    ctl.setState('failed', cause);
    throw err;
  }
  summary.outcome = aborted ? 'aborted' : 'rolled-back';
  ctl.setState(aborted ? 'aborted' : 'rolled-back');
  return summary;
}
