import { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import type { MetricMeter, MetricTags } from '@temporalio/common';
import type { BackfillChunkResult } from '../production/backfill';
import type { HealthReport } from '../production/health';
import type { MonthParity } from '../production/verify';
import type { CopySliceResult } from '../conversion/copy';
import type { ShadowMonthParity } from '../conversion/parity';
import type { SwapResult } from '../conversion/swap';
import { spellTable } from '../../src/conversion/choice/names';

/**
 * The cutover metrics counted by the worker's activities, through the Temporal runtime's metric
 * meter: with LICHEN_METRICS_ADDRESS they are served by the runtime's Prometheus exporter on
 * the same /metrics as the SDK's own worker metrics (without it the meter is a no-op).
 *
 * Every series carries `workflow_id` and `target` (one per run, and a handful of tables); the
 * other labels are closed sets. No row ids, no free text.
 *
 *   lichen_cutover_rows_copied_total{step}               rows copied (backfill: into Postgres; copy: heap into the partitioned shadow)
 *   lichen_cutover_parity_rows_checked_total{step}       rows compared by a parity check
 *   lichen_cutover_parity_rows_drifting_total{step}      rows a parity check found different (missing, stale, extra)
 *   lichen_cutover_health_checks_total{verdict}          health checks by verdict (healthy, unhealthy, data-loss)
 *   lichen_cutover_write_p99_seconds                     the app's write p99 the last health check measured
 *   lichen_cutover_write_p99_baseline_seconds            the baseline p99 the health checks compare it with
 *   lichen_cutover_throttle_pauses_total{cause}          backfill/copy pauses by cause (rate_limit, write_p99, dual_write_failures)
 *   lichen_cutover_throttle_pause_seconds{cause}         histogram: the length of those pauses (_sum: time paused)
 *   lichen_cutover_swap_lock_seconds                     histogram: ACCESS EXCLUSIVE lock hold of a table swap (memory_records and any table; direction forward/back)
 *   lichen_cutover_mode_barrier_seconds                  histogram: a persistence-mode switch until every app instance applied it
 */

/** `replica_lag`: a generic scan paused on copy.maxReplicaLagMs / maxSlotRetainedWalBytes (conversion/generic/throttle.ts). */
export type ThrottleCause = 'rate_limit' | 'write_p99' | 'dual_write_failures' | 'replica_lag';
/** The causes zeroed at the start of the backfill and the memory_records copy. */
export const THROTTLE_CAUSES: readonly ThrottleCause[] = ['rate_limit', 'write_p99', 'dual_write_failures'];
export const HEALTH_VERDICTS = ['healthy', 'unhealthy', 'data-loss'] as const;

/** Lock and barrier times: from 1 ms to 5 min. */
export const LOCK_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

interface Instruments {
  rowsCopied: ReturnType<MetricMeter['createCounter']>;
  parityChecked: ReturnType<MetricMeter['createCounter']>;
  parityDrifting: ReturnType<MetricMeter['createCounter']>;
  health: ReturnType<MetricMeter['createCounter']>;
  throttlePauses: ReturnType<MetricMeter['createCounter']>;
  throttleSeconds: ReturnType<MetricMeter['createHistogram']>;
  swapLock: ReturnType<MetricMeter['createHistogram']>;
  barrier: ReturnType<MetricMeter['createHistogram']>;
  p99: ReturnType<MetricMeter['createGauge']>;
  baseline: ReturnType<MetricMeter['createGauge']>;
}

const cache = new WeakMap<MetricMeter, Instruments>();

function instruments(meter: MetricMeter): Instruments {
  let i = cache.get(meter);
  if (!i) {
    i = {
      rowsCopied: meter.createCounter('lichen_cutover_rows_copied', 'rows', 'Rows copied by the cutover (step backfill: memory stores into Postgres; step copy: heap into the partitioned table).'),
      parityChecked: meter.createCounter('lichen_cutover_parity_rows_checked', 'rows', 'Rows compared by parity checks.'),
      parityDrifting: meter.createCounter('lichen_cutover_parity_rows_drifting', 'rows', 'Rows parity checks found missing, stale or extra.'),
      health: meter.createCounter('lichen_cutover_health_checks', '', 'Health checks by verdict.'),
      throttlePauses: meter.createCounter('lichen_cutover_throttle_pauses', '', 'Copy pauses by cause.'),
      // The runtime's counters are integers: the pause time is a histogram in seconds (its _sum).
      throttleSeconds: meter.createHistogram('lichen_cutover_throttle_pause', 'float', 'seconds', 'Copy pauses by cause: their length.'),
      swapLock: meter.createHistogram('lichen_cutover_swap_lock', 'float', 'seconds', 'ACCESS EXCLUSIVE lock hold of a table swap.'),
      barrier: meter.createHistogram('lichen_cutover_mode_barrier', 'float', 'seconds', 'A persistence-mode switch, until every live app instance applied it.'),
      p99: meter.createGauge('lichen_cutover_write_p99_seconds', 'float', '', 'The app\'s write p99 over the last health check\'s interval, all instances.'),
      baseline: meter.createGauge('lichen_cutover_write_p99_baseline_seconds', 'float', '', 'The write p99 the health checks compare against (measured before the cutover changed anything).'),
    };
    cache.set(meter, i);
  }
  return i;
}

/** The run's labels, from the activity's context. */
function runTags(target: string | undefined): MetricTags {
  const info = Context.current().info;
  return { workflow_id: info.workflowExecution?.workflowId ?? 'none', target: target ?? 'unknown' };
}

function meter(): MetricMeter {
  return Context.current().metricMeter;
}

/** A copy paused `ms` for `cause` (called by the copy loops). */
export function recordThrottlePause(target: string, cause: ThrottleCause, ms: number): void {
  if (ms <= 0) return;
  const m = instruments(meter());
  const tags = { ...runTags(target), cause };
  m.throttlePauses.add(1, tags);
  m.throttleSeconds.record(ms / 1000, tags);
}

type Args = Record<string, unknown>;
type Recorder = (m: Instruments, args: Args, result: unknown) => void;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
const targetOf = (a: Args): string => String(a.target ?? a.table ?? 'memory_records');

/** Per activity type: what its input and result add to the metrics. */
/** The table of a generic conversion activity's input (`choice.table`), as the input spells it. */
function genericTarget(a: Record<string, unknown>): string {
  const t = (a.choice as { table?: { schema: string | null; name: string } } | undefined)?.table;
  return t ? spellTable(t) : 'unknown';
}

const RECORDERS: Record<string, Recorder> = {
  backfillChunk(m, a, r) {
    const res = r as BackfillChunkResult;
    if (!a.dryRun) m.rowsCopied.add(num(res.rows), { ...runTags(targetOf(a)), step: 'backfill' });
  },
  copyHeapSlice(m, a, r) {
    const res = r as CopySliceResult;
    m.rowsCopied.add(num(res.rowsScanned), { ...runTags(String(a.target ?? 'memory_records')), step: 'copy' });
  },
  verifyMonth(m, a, r) {
    const p = r as MonthParity;
    const tags = { ...runTags(targetOf(a)), step: 'verify' };
    m.parityChecked.add(num(p.memory?.count), tags);
    m.parityDrifting.add(num(p.drift?.missing) + num(p.drift?.stale) + num(p.drift?.extra), tags);
  },
  verifyConversionParity(m, a, r) {
    const months = r as ShadowMonthParity[];
    const tags = { ...runTags(String(a.target ?? 'memory_records')), step: 'conversion' };
    for (const p of months) {
      m.parityChecked.add(num(p.source.count), tags);
      if (!p.match) m.parityDrifting.add(Math.max(1, Math.abs(p.source.count - p.shadow.count)), tags);
    }
  },
  healthCheck(m, a, r) {
    const h = r as HealthReport;
    const tags = runTags(targetOf(a));
    if (h.p99Ms !== null) m.p99.set(h.p99Ms / 1000, tags);
    if (h.baselineP99Ms !== null) m.baseline.set(h.baselineP99Ms / 1000, tags);
    m.health.add(1, { ...tags, verdict: (HEALTH_VERDICTS as readonly string[]).includes(h.verdict) ? h.verdict : 'unknown' });
    m.parityChecked.add(num(h.parity?.checked), { ...tags, step: 'health' });
    m.parityDrifting.add(num(h.parity?.drift), { ...tags, step: 'health' });
  },
  swapTables(m, a, r) {
    const s = r as SwapResult;
    if (s.lockHoldMs !== null) m.swapLock.record(s.lockHoldMs / 1000, { ...runTags(String(a.target ?? 'memory_records')), direction: 'forward' });
  },
  swapBack(m, a, r) {
    const s = r as SwapResult;
    if (s.lockHoldMs !== null) m.swapLock.record(s.lockHoldMs / 1000, { ...runTags(String(a.target ?? 'memory_records')), direction: 'back' });
  },
  // The conversion of any table (input with `table`): rows copied by a copy call (a slice: its share, the counts carried being cumulative).
  copyGeneric(m, a, r) {
    const res = r as { rows?: number };
    const before = num((a.from as { rows?: number } | undefined)?.rows);
    m.rowsCopied.add(Math.max(0, num(res.rows) - before), { ...runTags(genericTarget(a)), step: 'copy' });
  },
  // Parity per range: rows compared and keys repaired by this call (a slice: its share).
  genericParity(m, a, r) {
    const res = r as { rows?: number; repaired?: number };
    const from = a.from as { rows?: number; repaired?: number } | undefined;
    const tags = { ...runTags(genericTarget(a)), step: 'conversion' };
    m.parityChecked.add(Math.max(0, num(res.rows) - num(from?.rows)), tags);
    m.parityDrifting.add(Math.max(0, num(res.repaired) - num(from?.repaired)), tags);
  },
  // The conversion of any table (input with `table`): the swap's transaction, BEGIN to COMMIT.
  swapGeneric(m, a, r) {
    const s = r as { lockMs: number | null };
    if (typeof s.lockMs === 'number') m.swapLock.record(s.lockMs / 1000, { ...runTags(genericTarget(a)), direction: 'forward' });
  },
  swapBackGeneric(m, a, r) {
    const s = r as { lockMs?: number };
    if (typeof s.lockMs === 'number') m.swapLock.record(s.lockMs / 1000, { ...runTags(String((a.post as { table?: string } | undefined)?.table ?? 'unknown')), direction: 'back' });
  },
};

/** Counters a run's dashboard reads from its start, at zero until something happens. */
const ZEROED_AT: Record<string, (m: Instruments, a: Args) => void> = {
  backfillChunk(m, a) {
    for (const cause of THROTTLE_CAUSES) {
      m.throttlePauses.add(0, { ...runTags(targetOf(a)), cause });
    }
  },
  copyHeapSlice(m) {
    for (const cause of THROTTLE_CAUSES) m.throttlePauses.add(0, { ...runTags('memory_records'), cause });
  },
  healthCheck(m, a) {
    for (const verdict of HEALTH_VERDICTS) m.health.add(0, { ...runTags(targetOf(a)), verdict });
  },
};

/**
 * The activity interceptor that keeps the cutover metrics: it reads each activity's input and
 * result (no change to the activities) and, for the mode switch, times the call. A failed
 * activity records nothing but what ZEROED_AT declares.
 */
export class CutoverMetricsInterceptor implements ActivityInboundCallsInterceptor {
  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const type = Context.current().info.activityType;
    const args = (input.args[0] ?? {}) as Args;
    const m = instruments(meter());
    ZEROED_AT[type]?.(m, args);
    const t0 = performance.now();
    const result = await next(input);
    try {
      if (type === 'changeMode') m.barrier.record((performance.now() - t0) / 1000, runTags(targetOf(args)));
      RECORDERS[type]?.(m, args, result);
    } catch {
      // metrics never fail an activity
    }
    return result;
  }
}

export const cutoverMetricsInterceptor = () => ({ inbound: new CutoverMetricsInterceptor() });
