import { ApplicationFailure, CancellationScope } from '@temporalio/workflow';
import { describeFailure } from './failures';

/** One completed step's undo. `byHand` says what an operator does when the undo itself fails. */
export interface Compensation {
  name: string;
  /**
   * Names the undo for a hand-over (continuation.ts): the next run rebuilds it from the key.
   * A workflow that continues as new gives every compensation one.
   */
  key?: string;
  undo: () => Promise<unknown>;
  byHand: string;
}

/** A compensation that failed during a rollback: which, why, and what to do by hand. */
export interface CompensationFailure {
  name: string;
  why: string;
  byHand: string;
}

/** The failure type a workflow ends with when a rollback could not undo every step. */
export const ROLLBACK_INCOMPLETE = 'RollbackIncomplete';

/**
 * The one saga every workflow uses (after temporalio/samples-typescript `saga/`): each step
 * that changed something adds its undo right after (or right before) it runs; a rollback
 * undoes them in reverse order, in a non-cancellable scope so an operator's abort cannot cut
 * it short. A failing undo is recorded and the rest still run: a later undo (an earlier step)
 * is usually still possible and leaves less for the operator to do by hand.
 */
export class Saga {
  private readonly steps: Compensation[] = [];

  add(c: Compensation): void {
    this.steps.push(c);
  }

  /** Takes the last undo off the saga (a branch that undoes one step itself). */
  pop(): Compensation | undefined {
    return this.steps.pop();
  }

  /** Nothing left to undo (the last step made the change permanent). */
  clear(): void {
    this.steps.length = 0;
  }

  /** The keys of the pending undos, in order (what a hand-over carries). */
  keys(): string[] {
    return this.steps.map((c) => {
      if (!c.key) throw new Error(`compensation "${c.name}" has no key: it cannot be carried to the next run`);
      return c.key;
    });
  }

  get pending(): readonly Compensation[] {
    return this.steps;
  }

  /**
   * Undoes every step in reverse order; `each` runs one undo (e.g. as a recorded phase).
   * Returns the undos that failed; the saga is empty afterwards.
   */
  async compensate(each: (c: Compensation) => Promise<unknown> = (c) => c.undo()): Promise<CompensationFailure[]> {
    const failed: CompensationFailure[] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const c of [...this.steps].reverse()) {
        try {
          await each(c);
        } catch (err) {
          failed.push({ name: c.name, why: describeFailure(err), byHand: c.byHand });
        }
      }
    });
    this.steps.length = 0;
    return failed;
  }
}

/** The workflow's failure when undos failed: names each one, why, and what to do by hand. */
export function rollbackIncomplete(cause: string, failed: CompensationFailure[]): ApplicationFailure {
  return ApplicationFailure.create({
    message: `rollback incomplete after "${cause}": ${failed.map((f) => `${f.name} failed (${f.why}); by hand: ${f.byHand}`).join('; ')}`,
    type: ROLLBACK_INCOMPLETE,
    nonRetryable: true,
    details: [{ compensationFailures: failed }],
  });
}
