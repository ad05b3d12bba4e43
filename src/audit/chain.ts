import type { WorkflowClient } from '@temporalio/client';
import type { HistoryLike } from './history';

/** The most runs a chain is read back through (a cutover of any size stays far below). */
export const MAX_CHAIN_RUNS = 10_000;

/**
 * The histories of a workflow id's chain of runs, oldest first (bounded histories:
 * workflows/common/continuation.ts). From the newest run (or `runId`) back through each run's
 * `continuedExecutionRunId` to the first; a run that never continued as new is a chain of one.
 * `workflows`: `client.workflow` (or a handle's `client`).
 */
export async function fetchRunChain(workflows: Pick<WorkflowClient, 'getHandle'>, workflowId: string, runId?: string): Promise<(HistoryLike & { runId: string })[]> {
  const newest = runId ?? (await workflows.getHandle(workflowId).describe()).runId;
  const chain: (HistoryLike & { runId: string })[] = [];
  for (let id: string | undefined = newest; id && chain.length < MAX_CHAIN_RUNS; ) {
    const history: HistoryLike = await workflows.getHandle(workflowId, id).fetchHistory();
    chain.unshift({ ...history, runId: id });
    const started: { continuedExecutionRunId?: string | null } | null | undefined = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    id = started?.continuedExecutionRunId || undefined;
  }
  return chain;
}
