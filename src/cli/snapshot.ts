import { WorkflowFailedError, type Client } from '@temporalio/client';
import { getCutoverHandle } from '../client';
import type { RunStatus } from '../../workflows/types';

/** What `status` and `watch` show: the server's view plus the workflow's own status. */
export interface RunSnapshot {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW. */
  execution: string;
  startTime: string;
  closeTime?: string;
  /** The `status` query (running runs). */
  status?: RunStatus;
  /** The result of a completed run. */
  result?: Record<string, unknown>;
  failure?: string;
}

const QUERY_TIMEOUT_MS = 5_000;

/** Server description first; the query only while it runs (a closed run needs no worker to read). */
export async function snapshot(client: Client, workflowId: string): Promise<RunSnapshot> {
  const h = getCutoverHandle<Record<string, unknown>>(client, workflowId);
  const d = await h.describe();
  const s: RunSnapshot = {
    workflowId,
    runId: d.runId,
    workflowType: d.type,
    execution: d.status.name,
    startTime: d.startTime.toISOString(),
    closeTime: d.closeTime?.toISOString(),
  };
  if (d.status.name === 'RUNNING') {
    s.status = await Promise.race([
      h.status(),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), QUERY_TIMEOUT_MS).unref()),
    ]).catch(() => undefined);
  } else if (d.status.name === 'CONTINUED_AS_NEW') {
    // Only seen when asked for a run of the chain by id: its successor carries the status.
  } else if (d.status.name === 'COMPLETED') {
    s.result = await h.result();
  } else {
    s.failure = await h.result().then(
      () => undefined,
      (err: unknown) => (err instanceof WorkflowFailedError ? `${err.cause?.message ?? err.message}` : (err as Error).message),
    );
  }
  return s;
}

/** The run's verdict for exit codes: 0 when it completed as intended, 1 otherwise. */
export function verdictOf(s: RunSnapshot): { done: boolean; ok: boolean; outcome: string } {
  if (s.execution === 'RUNNING') return { done: false, ok: true, outcome: s.status?.state ?? 'running' };
  // A run that handed over to the next of its chain (bounded histories): the chain goes on.
  if (s.execution === 'CONTINUED_AS_NEW') return { done: false, ok: true, outcome: 'continued as new' };
  if (s.execution !== 'COMPLETED') return { done: true, ok: false, outcome: s.execution.toLowerCase() };
  // `status`: the result field of conversions finished before it was named `outcome`.
  const outcome = String(s.result?.outcome ?? s.result?.status ?? 'completed');
  return { done: true, ok: outcome === 'completed' || outcome === 'dry-run', outcome };
}
