import { ApplicationFailure } from '@temporalio/common';
import { BarrierTimeoutError } from '../../src/memory-layer/control-plane';

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

/** SQLSTATE codes the activities handle by name. */
export const SQLSTATE = {
  uniqueViolation: '23505',
  lockNotAvailable: '55P03',
  undefinedTable: '42P01',
  checkViolation: '23514',
  objectNotInPrerequisiteState: '55000',
} as const;

export function sqlState(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
