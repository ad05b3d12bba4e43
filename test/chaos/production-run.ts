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
 * (the client reconnects); a workflow failure is rethrown. Bounded by `timeoutMs`: a run that
 * has not ended by then fails the scenario with what its history says (a workflow task that
 * keeps failing, e.g. a nondeterminism error, never ends the run by itself).
 */
export async function resultAcrossRestarts(handle: WorkflowHandle, timeoutMs: number): Promise<ProductionCutoverResult> {
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), timeoutMs)));
  try {
    for (;;) {
      let r: ProductionCutoverResult | 'expired';
      try {
        r = await Promise.race([handle.result() as Promise<ProductionCutoverResult>, expired]);
      } catch (err) {
        if (err instanceof WorkflowFailedError || Date.now() >= deadline) throw err;
        await sleep(1000);
        continue;
      }
      if (r === 'expired') throw new Error(`the run did not end within ${Math.round(timeoutMs / 1000)} s: ${await whyStuck(handle)}`);
      return r;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The last workflow-task failure and the last few events of a run that did not end. */
export async function whyStuck(handle: WorkflowHandle): Promise<string> {
  try {
    const events = (await handle.fetchHistory()).events ?? [];
    const failed = [...events].reverse().find((e) => e.workflowTaskFailedEventAttributes);
    const tail = events.slice(-8).map((e) => `${e.eventId} ${String(e.eventType)}`).join(', ');
    const failure = failed?.workflowTaskFailedEventAttributes?.failure?.message;
    return (failure ? `workflow task failing: ${failure}; ` : '') + `last events: ${tail}`;
  } catch (err) {
    return `history unavailable: ${(err as Error).message}`;
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
