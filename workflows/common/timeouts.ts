import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Named activity timeout profiles (`as const`), one per kind of step. Error types listed in
 * NON_RETRYABLE are decisions, not glitches: retrying cannot help, the workflow handles them.
 */
export const NON_RETRYABLE = [
  'InvalidInput',
  'PreflightFailed',
  'MigrationFailedError',
  'MigrationChangedError',
  'DestructiveMigrationRefusedError',
  'BarrierTimeoutError',
  'ParityMismatch',
  'UnknownProfileError',
  'RunAlreadyActive',
  'SwapLockTimeout',
] as const;

/** Quick DDL, checks and control-plane writes. */
export const SHORT_STEP = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8, nonRetryableErrorTypes: [...NON_RETRYABLE] },
} as const satisfies ActivityOptions;

/** A barrier waits for every live app instance to acknowledge an epoch. */
export const BARRIER_STEP = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE] },
} as const satisfies ActivityOptions;

/** Long copies and scans: heartbeat a resumable checkpoint; a retry resumes from it. */
export const LONG_COPY = {
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 50, nonRetryableErrorTypes: [...NON_RETRYABLE] },
} as const satisfies ActivityOptions;
