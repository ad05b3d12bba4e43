/**
 * Errors of the client library, one class per thing a caller (or the CLI's exit code) needs to
 * tell apart. Each message says what happened and what to do next.
 */

/** The input failed local validation (the same rules the workflow applies at start). */
export class InvalidCutoverInputError extends Error {
  constructor(
    public readonly field: string,
    message: string,
  ) {
    super(`invalid input: ${message}`);
    this.name = 'InvalidCutoverInputError';
  }
}

/** A run with this workflow id is already running (one cutover per target). */
export class CutoverAlreadyRunningError extends Error {
  constructor(
    public readonly kind: string,
    public readonly target: string,
    public readonly workflowId: string,
    public readonly runId?: string,
  ) {
    super(`a ${kind} for ${target} is already running: ${workflowId}${runId ? ` (run ${runId})` : ''}. ` +
      `Watch it with "cutover watch ${workflowId}" or abort it with "cutover abort ${workflowId} --operator NAME --reason TEXT".`);
    this.name = 'CutoverAlreadyRunningError';
  }
}

/** The workflow refused an operator action (an update validator's message). */
export class CutoverRejectedError extends Error {
  constructor(
    public readonly action: string,
    public readonly workflowId: string,
    public readonly reason: string,
  ) {
    super(`${action} rejected by ${workflowId}: ${reason}`);
    this.name = 'CutoverRejectedError';
  }
}

/** No workflow with this id (or it has no such run). */
export class CutoverNotFoundError extends Error {
  constructor(public readonly workflowId: string) {
    super(`workflow ${workflowId} not found in this namespace; list runs with "temporal workflow list --query 'CutoverTarget IS NOT NULL'"`);
    this.name = 'CutoverNotFoundError';
  }
}

/** The Temporal server could not be reached. */
export class TemporalConnectionError extends Error {
  constructor(
    public readonly where: string,
    cause: unknown,
  ) {
    super(`cannot reach ${where}: ${(cause as Error)?.message ?? String(cause)}. Check TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (or the envconfig profile) and that the server is up.`);
    this.name = 'TemporalConnectionError';
    this.cause = cause;
  }
}
