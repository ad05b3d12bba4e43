import { allHandlersFinished, condition, ContinueAsNew, makeContinueAsNewFunc, patched, workflowInfo } from '@temporalio/workflow';
import { PATCHES } from '../patches';
import type { HistoryBudget } from './history-budget';

/**
 * Bounded histories (issue 17, item 4). Temporal terminates a run at 51,200 events or 50 MB of
 * history; a cutover of a large table (one backfill chunk ≈ 6 events), a 48 h monitoring
 * window with a check a minute, or a conversion copying thousands of slices would get there
 * half-way. So a run hands over to a new run of the same workflow id (continue-as-new) at a
 * safe point — between two steps, between two backfill chunks or copy slices, after a window
 * tick — once its history passes the budget, carrying its whole state in the new run's input
 * (`continued`). The new run starts where the old one stopped; the status query, `cutover
 * watch` and the result follow the workflow id to the newest run, and `cutover audit` reads
 * the chain of runs as one (src/audit/chain.ts).
 *
 * Signals and updates are not lost across the hand-over: handlers only change state the
 * snapshot carries, a run waits for its running update handlers before it hands over, and a
 * message that arrives while the hand-over's workflow task completes makes Temporal refuse
 * that completion and deliver the message first (the run then takes the snapshot again).
 */

/** Where this run sits in its chain (carried from run to run). */
export interface ChainInfo {
  /** Runs before this one (oldest first): run id, the events it ended with, where it handed over. */
  previous: { runId: string; events: number; bytes: number; handedOverAt: string; at: string }[];
}

/** Has this run's history passed its budget? (History length and size are replay-deterministic.) */
export function overBudget(b: HistoryBudget): boolean {
  const i = workflowInfo();
  return i.historyLength >= b.maxEvents || i.historySize >= b.maxBytes;
}

/**
 * Whether to hand over now: over budget and inside the patch. The patch is asked only when
 * over budget, so histories that never passed their budget (every run recorded before the
 * patch) replay without its marker.
 */
export function handOverDue(b: HistoryBudget): boolean {
  return overBudget(b) && patched(PATCHES.boundedHistories.id);
}

/** The chain as the next run will see it, with this run appended. */
export function nextChain(chain: ChainInfo, handedOverAt: string): ChainInfo {
  const i = workflowInfo();
  return { previous: [...chain.previous, { runId: i.runId, events: i.historyLength, bytes: i.historySize, handedOverAt, at: new Date().toISOString() }] };
}

/**
 * Hands over to a new run of the same workflow. Waits for running update handlers first (a
 * forgetInstance runs an activity), then takes the carried state (`makeInput`: the original
 * input plus `continued`) in the same activation as the ContinueAsNew command, so nothing a
 * handler records can fall between the two. Never returns (throws ContinueAsNew).
 */
export async function handOver(workflowType: string, makeInput: () => unknown): Promise<never> {
  await condition(allHandlersFinished);
  const next = makeContinueAsNewFunc<(i: unknown) => Promise<unknown>>({ workflowType });
  return next(makeInput());
}

export function isHandOver(err: unknown): boolean {
  return err instanceof ContinueAsNew;
}

