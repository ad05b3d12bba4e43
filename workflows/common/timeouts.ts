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

/**
 * Quick DDL, checks and control-plane writes. Short on purpose: these steps do not heartbeat,
 * so a worker that dies inside one is noticed only when this timeout expires.
 */
export const SHORT_STEP = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8, nonRetryableErrorTypes: [...NON_RETRYABLE] },
} as const satisfies ActivityOptions;

/** Scans that grow with the data (planning, health checks): heartbeat, so a lost worker is noticed fast. */
export const SCAN_STEP = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: [...NON_RETRYABLE] },
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
