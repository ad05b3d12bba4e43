import { WorkflowNotFoundError } from '@temporalio/common';
import { UnknownProfileError } from '../config/profiles';
import { UnknownSecretError } from '../config/secrets';
import { CONNECTION_SQLSTATES } from '../shared/pg-errors';
import {
  CutoverAlreadyRunningError,
  CutoverNotFoundError,
  CutoverRejectedError,
  InvalidCutoverInputError,
  TemporalConnectionError,
} from '../client/errors';

/** The CLI's exit codes (documented in src/cli/README.md; scripts rely on them). */
export const EXIT = {
  ok: 0,
  /** Findings, a failed check, or a workflow that failed / rolled back / was aborted. */
  failed: 1,
  /** Usage error: unknown command or option, missing or invalid argument, invalid input. */
  usage: 2,
  /** The workflow (or the file, profile target …) does not exist. */
  notFound: 3,
  /** Refused: an update validator rejected the action, or a run is already going for the target. */
  rejected: 4,
  /** Temporal or Postgres could not be reached. */
  connection: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** A command's own "this failed" (findings, parity mismatch): exit 1 with a message. */
export class CheckFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailedError';
  }
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', ...CONNECTION_SQLSTATES]);

export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof UsageError || err instanceof InvalidCutoverInputError || err instanceof UnknownProfileError || err instanceof UnknownSecretError) return EXIT.usage;
  if (err instanceof CutoverNotFoundError || err instanceof WorkflowNotFoundError || err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof CutoverRejectedError || err instanceof CutoverAlreadyRunningError) return EXIT.rejected;
  if (err instanceof TemporalConnectionError) return EXIT.connection;
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return EXIT.connection;
  if (err instanceof AggregateError && err.errors.some((e) => exitCodeOf(e) === EXIT.connection)) return EXIT.connection;
  return EXIT.failed;
}
