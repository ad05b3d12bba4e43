import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ProductionCutoverInput } from '../../workflows/production-input';
import type { ProductionCutoverResult } from '../../workflows/production';
import { sleep } from './lib';

/**
 * A production cutover sized for chaos: a throttled backfill long enough to be hit (≈ 10 s),
 * a monitoring window of `windowMinutes`, no approvals. Latency ratios are not judged (a
 * restarted server makes every p99 spike); data loss and dual-write failures still are.
 */
export function chaosCutoverInput(windowMinutes = 0.5): ProductionCutoverInput {
  return {
    nonProduction: true,
    monitoring: { windowMinutes, healthCheckEveryMinutes: 0.05 },
    approvals: { beforeSwitchPrimary: false, beforeFinalCutover: false },
    backfill: { batchSize: 100, chunkRows: 1500, parallelism: 2, maxRowsPerSecond: 500 },
    health: { maxLatencyRatio: 100 },
  };
}

/**
 * handle.result() across server restarts: a long poll cut by a killed server is polled again
 * (the client reconnects); a workflow failure is rethrown.
 */
export async function resultAcrossRestarts(handle: WorkflowHandle, timeoutMs: number): Promise<ProductionCutoverResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await handle.result()) as ProductionCutoverResult;
    } catch (err) {
      if (err instanceof WorkflowFailedError || Date.now() > deadline) throw err;
      await sleep(1000);
    }
  }
}

/** The control epochs the run wrote, from its history's changeMode results: strictly increasing. */
export async function epochsOf(handle: WorkflowHandle): Promise<number[]> {
  const { defaultPayloadConverter } = await import('@temporalio/common');
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, string>();
  const epochs: number[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
    const c = e.activityTaskCompletedEventAttributes;
    if (c && scheduled.get(String(c.scheduledEventId)) === 'changeMode') {
      const r = defaultPayloadConverter.fromPayload<{ epoch: number }>(c.result!.payloads![0]);
      epochs.push(r.epoch);
    }
  }
  return epochs;
}
