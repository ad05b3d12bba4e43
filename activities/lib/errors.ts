import { ApplicationFailure } from '@temporalio/common';
import { BarrierTimeoutError } from '../../src/memory-layer/control-plane';
import type { ActiveRun } from '../../src/shared/pg-catalog';

/** Typed, non-retryable failures whose types the workflows branch on (see NON_RETRYABLE). */
export function preflightFailed(message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type: 'PreflightFailed', message, nonRetryable: true, details: details === undefined ? [] : [details] });
}

export function nonRetryable(type: string, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: details === undefined ? [] : [details] });
}

/** A barrier timeout as the workflows see it: non-retryable, naming the lagging instances. */
export function barrierFailure(err: unknown): unknown {
  if (err instanceof BarrierTimeoutError) return nonRetryable('BarrierTimeoutError', err.message, { lagging: err.lagging.map((l) => l.instanceId) });
  return err;
}


/** Another run holds the target (cutover_runs allows one active run per target). */
export function runAlreadyActive(target: string, other: ActiveRun): ApplicationFailure {
  return nonRetryable(
    'RunAlreadyActive',
    `another run is active for ${target}: ${other.kind} workflow ${other.workflowId} since ${other.startedAt}; ` +
      'wait for it to finish, or abort it (cutover abort <workflowId>) before starting a new one',
  );
}
