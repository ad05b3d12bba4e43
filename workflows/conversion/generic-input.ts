import { readConversionChoice, type ConversionChoice } from '../../src/conversion/choice/choice';
import { InputError, Reader } from '../common/validate';
import { parseHistoryBudget, readContinued, type HistoryBudget } from '../common/history-budget';
import { GENERIC_STAGES } from './stages';
import type { GenericContinuation } from './generic';
import { DEFAULT_COPY_BATCH, parseRetention, readLagLimits, readSwapLock } from '../conversion-input';
import { PROFILE_PATTERN } from '../maintenance-input';

/**
 * The start input of `heapToPartitionedConversion` for any table (the form with `table`):
 *
 * ```json
 * { "table": "billing.invoices", "partitionBy": { "column": "issued_at", "interval": "month" },
 *   "options": { "uniqueKeys": { "invoices_number_key": "extend" } },
 *   "connectionProfile": "default", "retentionMinutes": 1440 }
 * ```
 */
export interface GenericConversionSettings {
  choice: ConversionChoice;
  connectionProfile: string;
  nonProduction: boolean;
  retentionMinutes: number;
  retentionCheckMinutes: number;
  batchSize: number;
  /** Upper bound of rows/s of the copy (0: unbounded). */
  maxRowsPerSecond: number;
  /**
   * Upper bound of rows/s of the parity and the post-swap and retention checks; absent: `maxRowsPerSecond`
   * (the form with `table`). memory_records' preset sets 0: its `copy.maxRowsPerSecond` bounds the copy only, as it always did.
   */
  checkMaxRowsPerSecond?: number;
  /** Repair rounds of one parity range before it counts as differing (memory_records' `parity.maxRepairRounds`); absent: the activity's 3. */
  maxRepairRounds?: number;
  /**
   * The replica-lag throttle of every scan (input `copy.maxReplicaLagMs`, ms, and
   * `copy.maxSlotRetainedWalBytes`, bytes; 0 = off, the default): the parity (and the copy) pause
   * while a standby lags or a replication slot retains more WAL than this, failing closed while
   * the lag cannot be measured (activities/conversion/generic/throttle.ts).
   */
  maxReplicaLagMs: number;
  maxSlotRetainedWalBytes: number;
  /** A copy (or mode attach's index build and VALIDATE) whose worker is silent this long is retried elsewhere from its checkpoint. */
  copyHeartbeatTimeoutSeconds: number;
  /** Lanes of the change-log engine's copy (input `copy.parallelism`); absent: the cores the database reports, else 2. */
  copyParallelism?: number;
  /** How long one copy or parity activity runs before it returns its checkpoint (input `copy.sliceSeconds`, default 30): the pace of the progress and of the safe points a run hands over at. */
  sliceSeconds: number;
  /** Rows per range of the parity before the swap (input `copy.parityRangeRows`); absent: the activity's default (50,000). */
  parityRangeRows?: number;
  /** `swap.lockTimeoutMs`: each try of the swap (and of the sync's installation, the drop, the swap back). */
  lockTimeoutMs: number;
  /** `swap.maxTries`, `swap.backoffMs`, `swap.maxBackoffMs` (as memory_records' form): the swap's retries of a lock timeout inside its activity. */
  swapRetry: { maxTries: number; backoffMs: number; maxBackoffMs: number };
  approveBeforeSwap: boolean;
  /** Each run's history budget (input `history`, workflows/common/continuation.ts). */
  history: HistoryBudget;
  /**
   * How the shadow is kept in sync (input `sync`): absent or "trigger", the tool's row trigger;
   * "app-dual-write", the application mirrors every write through the control plane (mode copy
   * only; workflows/conversion/generic-app-sync.ts).
   */
  sync?: 'trigger' | 'app-dual-write';
  /** Sync "app-dual-write": how long every live instance has to apply a mirror change (s, default 60). */
  appBarrierTimeoutSeconds?: number;
  /** The table's preset (memory_records: the form without `table`); absent for the form with `table`. */
  preset?: 'memory_records';
  /** Written by the workflow itself when it continues as new; never set it. */
  continued?: GenericContinuation;
}

/** The input names a table: the generic conversion (without `table` it is memory_records, as before). */
export function isGenericConversionInput(input: unknown): boolean {
  return typeof input === 'object' && input !== null && !Array.isArray(input) && 'table' in input;
}

/** Validates the generic form; throws an InputError naming the field. Deterministic. */
export function parseGenericConversionInput(input: unknown): GenericConversionSettings {
  const r = Reader.root(input, 'input').only([
    'table', 'partitionBy', 'mode', 'options', 'connectionProfile', 'sync', 'appBarrierTimeoutSeconds', 'nonProduction', 'retentionMinutes', 'retentionCheckMinutes', 'copy', 'swap', 'approvals', 'history', 'continued',
  ]);
  const choice = readConversionChoice(input as Record<string, unknown>);
  const app = readAppSync(r, choice);
  const connectionProfile = r.string('connectionProfile', { default: 'default', pattern: PROFILE_PATTERN, allowed: 'a connection profile name: lower-case letters, digits, _ or - (never a URL or password)' });
  const nonProduction = r.bool('nonProduction', false);
  const { retentionMinutes, retentionCheckMinutes } = parseRetention(r, nonProduction);
  const c = r.object('copy')?.only(['batchSize', 'maxRowsPerSecond', 'heartbeatTimeoutSeconds', 'maxReplicaLagMs', 'maxSlotRetainedWalBytes', 'parallelism', 'sliceSeconds', 'parityRangeRows']);
  const parallelism = c?.has('parallelism') ? c.int('parallelism', { min: 1, max: 64 }) : undefined;
  const parityRangeRows = c?.has('parityRangeRows') ? c.int('parityRangeRows', { min: 100, max: 10_000_000 }) : undefined;
  const { lockTimeoutMs, ...swapRetry } = readSwapLock(r);
  const a = r.object('approvals')?.only(['beforeSwap']);
  return {
    choice, connectionProfile, ...app, nonProduction, retentionMinutes, retentionCheckMinutes,
    batchSize: c?.int('batchSize', { default: DEFAULT_COPY_BATCH, min: 10, max: 50_000 }) ?? DEFAULT_COPY_BATCH,
    maxRowsPerSecond: c?.int('maxRowsPerSecond', { default: 0, min: 0, max: 10_000_000 }) ?? 0,
    ...readLagLimits(c),
    copyHeartbeatTimeoutSeconds: c?.int('heartbeatTimeoutSeconds', { default: 30, min: 2, max: 600 }) ?? 30,
    ...(parallelism !== undefined ? { copyParallelism: parallelism } : {}),
    sliceSeconds: c?.int('sliceSeconds', { default: 30, min: 1, max: 3600 }) ?? 30,
    ...(parityRangeRows !== undefined ? { parityRangeRows } : {}),
    lockTimeoutMs, swapRetry,
    approveBeforeSwap: a?.bool('beforeSwap', true) ?? true,
    history: parseHistoryBudget(r),
    continued: readContinued<GenericContinuation>(r, GENERIC_STAGES),
  };
}

/** Input `sync` and `appBarrierTimeoutSeconds` (as memory_records' form): present only for "app-dual-write", which mode attach refuses. */
function readAppSync(r: Reader, choice: ConversionChoice): Pick<GenericConversionSettings, 'sync' | 'appBarrierTimeoutSeconds'> {
  const sync = r.enumOf('sync', ['trigger', 'app-dual-write'] as const, 'trigger');
  if (sync !== 'app-dual-write') {
    if (r.has('appBarrierTimeoutSeconds')) throw new InputError('appBarrierTimeoutSeconds', 'applies only with sync "app-dual-write"; remove it or set sync to "app-dual-write"');
    return {};
  }
  if (choice.mode === 'attach') {
    throw new InputError('sync', 'sync "app-dual-write" applies only to mode "copy" (mode "attach" copies no row: the heap itself becomes a partition, there is no shadow to mirror into); remove sync or use mode "copy"');
  }
  return { sync, appBarrierTimeoutSeconds: r.int('appBarrierTimeoutSeconds', { default: 60, min: 5, max: 240 }) };
}

/** The throttle carried in every generic activity's input (`GenericInput.throttle`): absent when no limit is on. */
export function scanThrottle(s: GenericConversionSettings): { throttle?: { maxReplicaLagMs: number; maxSlotRetainedWalBytes: number } } {
  return s.maxReplicaLagMs || s.maxSlotRetainedWalBytes ? { throttle: { maxReplicaLagMs: s.maxReplicaLagMs, maxSlotRetainedWalBytes: s.maxSlotRetainedWalBytes } } : {};
}
