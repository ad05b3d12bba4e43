import { describe, expect, it } from 'vitest';
import { InputError, toFailure, INVALID_INPUT } from '../../workflows/common/validate';
import { parseProductionInput } from '../../workflows/production-input';
import { parseConversionInput } from '../../workflows/conversion-input';
import { parseMaintenanceInput } from '../../workflows/maintenance-input';
import { CORPUS, transportableCases, type WorkflowName } from './corpus';

// The validators the workflows call first thing (and the client and CLI call before starting).
const VALIDATORS: Record<WorkflowName, (input: unknown) => unknown> = {
  productionCutover: parseProductionInput,
  heapToPartitionedConversion: parseConversionInput,
  partitionMaintenance: parseMaintenanceInput,
};

describe.each(Object.keys(CORPUS) as WorkflowName[])('hostile inputs of %s (validator)', (wf) => {
  it('the corpus holds at least 40 cases, at least 40 of them JSON-transportable', () => {
    expect(CORPUS[wf].length).toBeGreaterThanOrEqual(40);
    expect(transportableCases(wf).length).toBeGreaterThanOrEqual(40);
  });

  it.each(CORPUS[wf].map((c) => [c.name, c] as const))('rejects %s, naming the field', (_name, c) => {
    let thrown: unknown;
    try {
      VALIDATORS[wf](c.input);
    } catch (err) {
      thrown = err;
    }
    expect(thrown, `accepted: ${JSON.stringify(c.input)?.slice(0, 200)}`).toBeInstanceOf(InputError);
    const err = thrown as InputError;
    expect(err.field).toBe(c.field);
    // The message a workflow fails with: the field first, then what is allowed; never an echo of a huge value.
    const failure = toFailure(err);
    expect(failure.type).toBe(INVALID_INPUT);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message.startsWith(`invalid input: ${c.field}: `)).toBe(true);
    expect(failure.message.length).toBeLessThan(2000 + c.field.length);
  });

  it('a valid input still passes (the corpus does not just reject everything)', () => {
    expect(() => VALIDATORS[wf]({})).not.toThrow();
  });
});

describe('prototype pollution', () => {
  it('no validator pollutes Object.prototype, whatever the corpus throws at it', () => {
    for (const wf of Object.keys(CORPUS) as WorkflowName[]) {
      for (const c of CORPUS[wf]) {
        try {
          VALIDATORS[wf](c.input);
        } catch {
          // rejected, as the per-case tests assert
        }
      }
    }
    const probe = {} as Record<string, unknown>;
    expect(probe.polluted).toBeUndefined();
    expect(probe.dropDetached).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });
});
