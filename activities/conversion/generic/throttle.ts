import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { recordThrottlePause } from '../../lib/metrics';
import { checkLagLimits, lagLimitsOn, waitForReplicas, type LagReader, type ReplicaLagLimits } from '../../lib/replica-lag';
import { spellTable, type TableName } from '../../../src/conversion/choice/names';

/**
 * The throttle every scan of the generic engine honours before each unit of work (a parity range,
 * a copy batch): the input's `copy.maxReplicaLagMs` and `copy.maxSlotRetainedWalBytes`
 * (activities/lib/replica-lag.ts, as the memory_records copy). Absent or 0: off.
 */
export interface ScanLimits {
  maxReplicaLagMs?: number;
  maxSlotRetainedWalBytes?: number;
}

/** What a scan throttles on: the limits, and the table as the input spells it (the metrics' target). */
export interface ScanThrottle {
  limits: ReplicaLagLimits;
  target: string;
}

/**
 * The throttle of a generic activity's input (`throttle`, carried from the start input's `copy`
 * fields), checked: non-negative integers, else an InvalidInput failure naming the field.
 * Undefined when no limit is on.
 */
export function scanThrottleOf(i: { choice: { table: TableName }; throttle?: ScanLimits }): ScanThrottle | undefined {
  const limits = { maxReplicaLagMs: i.throttle?.maxReplicaLagMs ?? 0, maxSlotRetainedWalBytes: i.throttle?.maxSlotRetainedWalBytes ?? 0 };
  try {
    checkLagLimits(limits, 'copy');
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidInput');
  }
  return lagLimitsOn(limits) ? { limits, target: spellTable(i.choice.table) } : undefined;
}

/**
 * Waits, inside an activity, while a standby lags or a replication slot retains WAL beyond the
 * limits — or while the lag cannot be measured (fails closed). Every second while paused it calls
 * `say("paused: <why>")`, which the caller heartbeats (the pending activity's details say why),
 * and `say(null)` once it goes on. Cancellable (the activity's sleep). Each pause is counted in
 * the throttle metrics (cause `replica_lag`). Returns the ms paused (0 when no limit is on).
 * The copy calls it the same way before each batch: `throttleScan(client, scanThrottleOf(i), beat)`.
 */
export async function throttleScan(q: LagReader, t: ScanThrottle | undefined, say: (pausedBecause: string | null) => void): Promise<number> {
  if (!t) return 0;
  const ctx = Context.current();
  const ms = await waitForReplicas(q, t.limits, (d) => ctx.sleep(d), say);
  recordThrottlePause(t.target, 'replica_lag', ms);
  return ms;
}
