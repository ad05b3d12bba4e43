import { InputError, Reader } from './common/validate';
import { PROFILE_PATTERN } from './maintenance-input';
import { parseHistoryBudget, readContinued, type HistoryBudget } from './common/history-budget';
import { CONVERSION_STAGES } from './conversion/stages';
import type { ConversionContinuation } from './conversion/continuation-state';

/**
 * The copy's default batch (rows per statement, both the memory_records copy and the copy of any
 * table). Each batch reads its rows FOR SHARE, so a writer of one of them waits at most one batch
 * statement (≈ 0.1–0.3 s at 10000 rows); 2000 paid the per-statement cost 5× as often (issue 17,
 * bench B2). The slice still heartbeats after every batch.
 */
export const DEFAULT_COPY_BATCH = 10_000;

/**
 * The start input of `heapToPartitionedConversion`: one JSON object, every field optional.
 *
 * ```json
 * { "connectionProfile": "default", "retentionMinutes": 1440,
 *   "copy": { "batchSize": 10000, "maxRowsPerSecond": 20000 },
 *   "swap": { "lockTimeoutMs": 200, "maxTries": 10 },
 *   "approvals": { "beforeSwap": true } }
 * ```
 */
export interface ConversionInput {
  /** The heap table to convert. Only `memory_records` (the shadow's name is fixed by 002a). */
  target?: 'memory_records';
  /** Names a connection profile the worker resolves; never a URL or password. */
  connectionProfile?: string;
  /**
   * How the shadow is kept in sync while copying (and the old table after the swap):
   * "trigger" (default): a row trigger on the heap table; works with any application.
   * "app-dual-write": the memory-layer app writes each change to both tables in one
   * transaction, switched through the control plane (no trigger on the table); needs every
   * live app instance in persistence "postgres".
   */
  sync?: 'trigger' | 'app-dual-write';
  /**
   * sync "app-dual-write": how long every live app instance has to apply a mirror change,
   * 5–240 s (the barrier runs inside a 5-minute activity).
   */
  appBarrierTimeoutSeconds?: number;
  /** Allows retention windows shorter than 24 h (tests, staging). */
  nonProduction?: boolean;
  /** Retention of memory_records_old after the swap: 1440–2880 min (the runbook's 24–48 h); 0–2880 (fractions allowed) with nonProduction. */
  retentionMinutes?: number;
  /** Health checks (reverse-sync parity) during retention, every N minutes (1–1440; from 0.05 with nonProduction). */
  retentionCheckMinutes?: number;
  /** Months to premake beyond the current one (the runbook: current + 2). */
  premakeMonths?: number;
  copy?: {
    batchSize?: number;
    /** Throttle: rows per second, 0 = unthrottled. */
    maxRowsPerSecond?: number;
    pauseMsBetweenBatches?: number;
    /** How long one copy activity runs before reporting progress (the next one continues). */
    sliceSeconds?: number;
    /** A copy worker silent this long is presumed dead; the retry resumes from its checkpoint. */
    heartbeatTimeoutSeconds?: number;
    /** Pause before a batch while any streaming standby's replay lag exceeds this (ms); 0 = off (default). */
    maxReplicaLagMs?: number;
    /** Pause before a batch while any replication slot retains more WAL than this (bytes); 0 = off (default). */
    maxSlotRetainedWalBytes?: number;
  };
  parity?: { maxRepairRounds?: number };
  swap?: { lockTimeoutMs?: number; maxTries?: number; backoffMs?: number; maxBackoffMs?: number };
  /**
   * Each run's history budget: past it the run continues as new at the next safe point
   * (between copy slices, after a retention check, between steps). Defaults 10000 events
   * (100–40000) and 10485760 bytes (256 KiB–40 MiB). Also in the form with `table`.
   */
  history?: { maxEvents?: number; maxBytes?: number };
  /** Written by the workflow itself when it continues as new (the state it carries); never set it. */
  continued?: ConversionContinuation;
  approvals?: { beforeSwap?: boolean };
}

export interface ConversionSettings {
  target: 'memory_records';
  /** The connection profile the worker resolves (input `connectionProfile`). */
  connectionProfile: string;
  sync: 'trigger' | 'app-dual-write';
  appBarrierTimeoutSeconds: number;
  nonProduction: boolean;
  retentionMinutes: number;
  retentionCheckMinutes: number;
  premakeMonths: number;
  copy: { batchSize: number; maxRowsPerSecond: number; pauseMsBetweenBatches: number; sliceSeconds: number; heartbeatTimeoutSeconds: number; maxReplicaLagMs: number; maxSlotRetainedWalBytes: number };
  maxRepairRounds: number;
  lock: { lockTimeoutMs: number; maxTries: number; backoffMs: number; maxBackoffMs: number };
  approveBeforeSwap: boolean;
  /** Each run's history budget (input `history`, workflows/common/continuation.ts). */
  history: HistoryBudget;
  /** Written by the workflow itself when it continues as new; never set it. */
  continued?: ConversionContinuation;
}

export const DEFAULT_RETENTION_MINUTES = 24 * 60;
export const MAX_RETENTION_MINUTES = 48 * 60;

/** Validates the input; throws an InputError naming the field. Deterministic. */
/**
 * The retention window of both conversions (memory_records and any table): 1440–2880 min with
 * checks every 1–1440 min; with nonProduction from 0 min, in fractions of a minute (tests, staging).
 */
/**
 * `copy.maxReplicaLagMs` and `copy.maxSlotRetainedWalBytes` of either form: the replica-lag
 * throttle (activities/lib/replica-lag.ts), 0 = off (the default); it fails closed when on.
 */
export function readLagLimits(c: Reader | undefined): { maxReplicaLagMs: number; maxSlotRetainedWalBytes: number } {
  return {
    maxReplicaLagMs: c?.int('maxReplicaLagMs', { default: 0, min: 0, max: 86_400_000 }) ?? 0,
    maxSlotRetainedWalBytes: c?.int('maxSlotRetainedWalBytes', { default: 0, min: 0, max: Number.MAX_SAFE_INTEGER }) ?? 0,
  };
}

/**
 * `swap` of either form: `lockTimeoutMs` 10–10000 (default 200) for each try, `maxTries` 1–100
 * (default 10) tries of the swap inside its activity, backoff from `backoffMs` 1–60000 (default
 * 100) doubling up to `maxBackoffMs` 1–300000 (default 5000, at least backoffMs); after the
 * tries the run waits for an operator.
 */
export function readSwapLock(r: Reader): { lockTimeoutMs: number; maxTries: number; backoffMs: number; maxBackoffMs: number } {
  const s = r.object('swap')?.only(['lockTimeoutMs', 'maxTries', 'backoffMs', 'maxBackoffMs']);
  const lock = {
    lockTimeoutMs: s?.int('lockTimeoutMs', { default: 200, min: 10, max: 10_000 }) ?? 200,
    maxTries: s?.int('maxTries', { default: 10, min: 1, max: 100 }) ?? 10,
    backoffMs: s?.int('backoffMs', { default: 100, min: 1, max: 60_000 }) ?? 100,
    maxBackoffMs: s?.int('maxBackoffMs', { default: 5000, min: 1, max: 300_000 }) ?? 5000,
  };
  if (lock.maxBackoffMs < lock.backoffMs) throw new InputError('swap.maxBackoffMs', `must be at least swap.backoffMs (${lock.backoffMs})`);
  return lock;
}

export function parseRetention(r: Reader, nonProduction: boolean): { retentionMinutes: number; retentionCheckMinutes: number } {
  return nonProduction
    ? {
      retentionMinutes: r.num('retentionMinutes', { default: DEFAULT_RETENTION_MINUTES, min: 0, max: MAX_RETENTION_MINUTES }),
      retentionCheckMinutes: r.num('retentionCheckMinutes', { default: 60, min: 0.05, max: 1440 }),
    }
    : {
      retentionMinutes: r.int('retentionMinutes', { default: DEFAULT_RETENTION_MINUTES, min: DEFAULT_RETENTION_MINUTES, max: MAX_RETENTION_MINUTES }),
      retentionCheckMinutes: r.int('retentionCheckMinutes', { default: 60, min: 1, max: 1440 }),
    };
}

export function parseConversionInput(input: unknown): ConversionSettings {
  const r = Reader.root(input === undefined ? {} : input, 'input').only([
    'target', 'connectionProfile', 'sync', 'appBarrierTimeoutSeconds', 'nonProduction', 'retentionMinutes', 'retentionCheckMinutes', 'premakeMonths', 'copy', 'parity', 'swap', 'approvals', 'history', 'continued',
  ]);
  const target = r.enumOf('target', ['memory_records'] as const, 'memory_records');
  const connectionProfile = r.string('connectionProfile', { default: 'default', pattern: PROFILE_PATTERN, allowed: 'a connection profile name: lower-case letters, digits, _ or - (never a URL or password)' });
  const sync = r.enumOf('sync', ['trigger', 'app-dual-write'] as const, 'trigger');
  const appBarrierTimeoutSeconds = r.int('appBarrierTimeoutSeconds', { default: 60, min: 5, max: 240 });
  if (sync !== 'app-dual-write' && r.has('appBarrierTimeoutSeconds')) {
    throw new InputError('appBarrierTimeoutSeconds', 'applies only with sync "app-dual-write"; remove it or set sync to "app-dual-write"');
  }
  const nonProduction = r.bool('nonProduction', false);
  const { retentionMinutes, retentionCheckMinutes } = parseRetention(r, nonProduction);
  const premakeMonths = r.int('premakeMonths', { default: 2, min: 0, max: 24 });

  const c = r.object('copy')?.only(['batchSize', 'maxRowsPerSecond', 'pauseMsBetweenBatches', 'sliceSeconds', 'heartbeatTimeoutSeconds', 'maxReplicaLagMs', 'maxSlotRetainedWalBytes']);
  const copy = {
    batchSize: c?.int('batchSize', { default: DEFAULT_COPY_BATCH, min: 10, max: 50_000 }) ?? DEFAULT_COPY_BATCH,
    maxRowsPerSecond: c?.int('maxRowsPerSecond', { default: 0, min: 0, max: 10_000_000 }) ?? 0,
    pauseMsBetweenBatches: c?.int('pauseMsBetweenBatches', { default: 0, min: 0, max: 60_000 }) ?? 0,
    sliceSeconds: c?.int('sliceSeconds', { default: 30, min: 1, max: 3600 }) ?? 30,
    heartbeatTimeoutSeconds: c?.int('heartbeatTimeoutSeconds', { default: 20, min: 2, max: 600 }) ?? 20,
    ...readLagLimits(c),
  };
  const p = r.object('parity')?.only(['maxRepairRounds']);
  const maxRepairRounds = p?.int('maxRepairRounds', { default: 3, min: 1, max: 10 }) ?? 3;
  const lock = readSwapLock(r);
  const a = r.object('approvals')?.only(['beforeSwap']);
  const approveBeforeSwap = a?.bool('beforeSwap', true) ?? true;
  const history = parseHistoryBudget(r);
  const continued = readContinued<ConversionContinuation>(r, CONVERSION_STAGES);
  return { target, connectionProfile, sync, appBarrierTimeoutSeconds, nonProduction, retentionMinutes, retentionCheckMinutes, premakeMonths, copy, maxRepairRounds, lock, approveBeforeSwap, history, continued };
}
