import { ApplicationFailure } from '@temporalio/common';
import { InputError } from '../../src/shared/input-reader';

/**
 * Input validation shared by every workflow's start input (and by the client and CLI, which
 * validate the same way before starting). Deterministic, no Node built-ins.
 *
 * Each failure names the field (a dotted path) and what is allowed. Workflows throw it as a
 * non-retryable `InvalidInput` failure before anything changes. The reader itself (`Reader`,
 * `InputError`) lives below workflows and activities, in src/shared/input-reader.ts, so the
 * conversion choice (src/conversion/choice/) reads with it too; it is re-exported here as the
 * workflows' door.
 */
export const INVALID_INPUT = 'InvalidInput';

export { InputError, Reader, IDENTIFIER } from '../../src/shared/input-reader';

export function toFailure(err: InputError): ApplicationFailure {
  return ApplicationFailure.create({ message: `invalid input: ${err.message}`, type: INVALID_INPUT, nonRetryable: true, details: [{ field: err.field }] });
}

/** Runs a workflow's input parser; an InputError becomes the non-retryable InvalidInput failure. */
export function parseWorkflowInput<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof InputError) throw toFailure(err);
    throw err;
  }
}
