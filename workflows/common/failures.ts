import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** The ApplicationFailure type of an activity's (or the workflow's own) failure. */
export function failureType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** Is `type` anywhere in the failure's cause chain? */
export function isFailureOfType(err: unknown, type: string): boolean {
  let e: unknown = err;
  while (e && typeof e === 'object') {
    if (e instanceof ApplicationFailure && e.type === type) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The message of an activity failure's cause (the activity's own words). */
export function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return (cause as Error)?.message ?? String(err);
}

/** The innermost message of the cause chain, at most 500 characters. */
export function describeFailure(err: unknown): string {
  let e: unknown = err;
  let msg = (err as Error)?.message ?? String(err);
  while (e && typeof e === 'object' && (e as { cause?: unknown }).cause) {
    e = (e as { cause?: unknown }).cause;
    msg = (e as Error).message ?? msg;
  }
  return msg.slice(0, 500);
}
