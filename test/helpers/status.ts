import type { WorkflowHandle } from '@temporalio/client';
import { statusQuery } from '../../workflows/messages';
import type { RunStatus } from '../../workflows/types';

/** What a failed wait prints: where the run stood, its last health check and its latest notes. */
function describe(s: RunStatus | undefined): string {
  if (!s) return 'no status (the query never answered)';
  const { lastHealth } = s;
  const health = lastHealth && { verdict: lastHealth.verdict, p99Ms: lastHealth.p99Ms, baselineP99Ms: lastHealth.baselineP99Ms, writes: lastHealth.writes, reasons: lastHealth.reasons };
  return JSON.stringify({ phase: s.phase, state: s.state, waitingOn: s.waitingOn, progress: s.progress, lastHealth: health, notes: s.notes.slice(-5) });
}

/** Polls the status query until `pred` holds; fails with the last status after `timeoutMs`. */
export async function waitForStatus(handle: WorkflowHandle, pred: (s: RunStatus) => boolean, timeoutMs = 60_000): Promise<RunStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: RunStatus | undefined;
  for (;;) {
    try {
      last = await handle.query(statusQuery);
      if (pred(last)) return last;
    } catch {
      // the workflow may not have run its first task yet
    }
    if (Date.now() > deadline) throw new Error(`status never matched; last: ${describe(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
