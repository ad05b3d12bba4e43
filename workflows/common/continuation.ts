import { allHandlersFinished, condition, ContinueAsNew, makeContinueAsNewFunc, patched, workflowInfo } from '@temporalio/workflow';
import { PATCHES } from '../patches';
import type { HistoryBudget } from './history-budget';
import { InputError, toFailure } from './validate';

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

/**
 * `continued` is accepted only in a real continuation: this run was continued from another
 * (`continuedFromExecutionRunId`, set by Temporal, never by a start) and the carried chain names
 * that run as its last previous one. Any other start — the UI's form, the `temporal` CLI, *Start
 * Workflow Like This One* on a later run of a chain, a raw SDK client, a retry of a continued
 * run — fails at once with the non-retryable InvalidInput failure naming the field, before any
 * command: no activity, no registry row, no mode change. Call it first thing in the workflow.
 */
export function acceptContinued<T>(continued: T | undefined): T | undefined {
  if (continued === undefined) return undefined;
  const from = workflowInfo().continuedFromExecutionRunId;
  const refuse = (why: string): never => {
    throw toFailure(new InputError('continued', `${why}; this field is written by the workflow itself when a run continues as new (bounded histories), a start never sets it`));
  };
  if (!from) refuse('this run was started, not continued from a previous run');
  const c = continued as { chain?: { previous?: unknown }; ctl?: unknown };
  const previous = c.chain?.previous;
  const last = Array.isArray(previous) && previous.length > 0 ? (previous[previous.length - 1] as { runId?: unknown })?.runId : undefined;
  if (typeof last !== 'string') refuse('malformed: it carries no chain of previous runs (chain.previous)');
  if (last !== from) refuse(`it names run ${String(last)} as the previous run of the chain, but this run continues run ${from}`);
  if (typeof c.ctl !== 'object' || c.ctl === null) refuse('malformed: it carries no controller state (ctl)');
  return continued;
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

