import type { WorkflowHandle } from '@temporalio/client';
import { statusQuery } from '../../workflows/messages';
import type { RunStatus } from '../../workflows/types';

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
    if (Date.now() > deadline) throw new Error(`status never matched; last: ${JSON.stringify(last && { phase: last.phase, state: last.state, waitingOn: last.waitingOn })}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
