import { Reader } from './validate';

/**
 * The `history` and `continued` fields of the workflows' inputs (bounded histories,
 * continuation.ts). No workflow APIs here: the client and the CLI parse inputs too.
 */

/** The event and byte budget of one run's history (input `history`). */
export interface HistoryBudget {
  maxEvents: number;
  maxBytes: number;
}

/** Defaults: a fifth of Temporal's hard limits, so a step that adds many events still fits. */
export const DEFAULT_HISTORY_BUDGET: HistoryBudget = { maxEvents: 10_000, maxBytes: 10 * 1024 * 1024 };

export const HISTORY_LIMITS = {
  events: { min: 100, max: 40_000 },
  bytes: { min: 256 * 1024, max: 40 * 1024 * 1024 },
} as const;

/** Parses `history` of a workflow input (the caller's Reader); defaults when absent. */
export function parseHistoryBudget(r: Reader): HistoryBudget {
  const h = r.object('history')?.only(['maxEvents', 'maxBytes']);
  return {
    maxEvents: h?.int('maxEvents', { default: DEFAULT_HISTORY_BUDGET.maxEvents, ...HISTORY_LIMITS.events }) ?? DEFAULT_HISTORY_BUDGET.maxEvents,
    maxBytes: h?.int('maxBytes', { default: DEFAULT_HISTORY_BUDGET.maxBytes, ...HISTORY_LIMITS.bytes }) ?? DEFAULT_HISTORY_BUDGET.maxBytes,
  };
}

/** The `continued` field of an input: an object written by a previous run (checked for shape only). */
export function readContinued<T>(r: Reader, stages: readonly string[]): T | undefined {
  const c = r.object('continued');
  if (!c) return undefined;
  const stage = c.string('stage', { allowed: `written by a previous run of this workflow (continue-as-new); one of ${stages.join(', ')}` });
  if (!stages.includes(stage)) c.fail('stage', `one of ${stages.join(', ')} (this field is written by the workflow itself when it continues as new)`);
  return c.raw() as T;
}
