import { CancellationScope } from '@temporalio/workflow';
import { failureMessage } from '../common/failures';
import { rollbackIncomplete, type CompensationFailure } from '../common/saga';
import { describeMode, short, type ProductionCutoverResult, type ProductionRun } from './run';

/** A failure the workflow turns into a named rollback branch (not an activity failure). */
export class RollbackRequested extends Error {
  readonly branch: string;
  readonly why: string;
  constructor(branch: string, why: string) {
    super(`${branch}: ${why}`);
    this.branch = branch;
    this.why = why;
  }
}

/**
 * How a run that did not reach its end ends: an operator's abort or a failure after a change
 * undoes the saga (the runbook's rollback); a failure before any change fails the run as is.
 * Throws when the run fails; returns when the summary is next.
 */
export async function endAfterFailure(run: ProductionRun, err: unknown): Promise<void> {
  const { ctl } = run;
  let branch: string;
  let cause: string;
  if (ctl.isAbort(err)) {
    [branch, cause] = ['operator-abort', `aborted by ${ctl.aborted!.operator}: ${ctl.aborted!.reason}`];
    run.result.outcome = 'aborted';
  } else if (err instanceof RollbackRequested) {
    [branch, cause] = [err.branch, err.why];
    run.result.outcome = 'rolled-back';
  } else if (run.saga.pending.length > 0) {
    [branch, cause] = ['step-failed', failureMessage(err)];
    run.result.outcome = 'rolled-back';
  } else {
    ctl.setState('failed', failureMessage(err));
    await finishFailed(run);
    throw err;
  }
  const failed = await rollBack(run, branch, cause);
  if (failed.length > 0) {
    ctl.setState('failed', `rollback incomplete: ${failed.map((f) => `${f.name}: ${f.why}`).join('; ')}`);
    await finishFailed(run);
    throw rollbackIncomplete(cause, failed);
  }
  ctl.setState(run.result.outcome === 'aborted' ? 'aborted' : 'rolled-back');
}

/** Undoes the saga in reverse, each undo a recorded `compensate: …` phase. */
async function rollBack(run: ProductionRun, branch: string, cause: string): Promise<CompensationFailure[]> {
  const { ctl } = run;
  ctl.setState('rolling-back', `${branch}: ${cause}`);
  const rec = ctl.recordRollback(branch, cause);
  const failed = await run.saga.compensate((c) => ctl.phase(`compensate: ${c.name}`, c.undo, { finishing: true }));
  ctl.rollbackEnded(rec, describeMode(run.currentMode ?? run.startingMode));
  run.result.finalMode = run.currentMode ?? run.startingMode;
  ctl.recordCompensationFailures(failed);
  return failed;
}

async function finishFailed(run: ProductionRun): Promise<void> {
  await CancellationScope.nonCancellable(() => short.finishRun({ connectionProfile: run.input.connectionProfile, runId: run.runId, status: 'failed' })).catch(() => undefined);
}

/** Runbook "Summary": close the run's registry entry and say how it ended. */
export async function summarize(run: ProductionRun): Promise<ProductionCutoverResult> {
  const { ctl, result } = run;
  const ok = result.outcome === 'completed' || result.outcome === 'dry-run';
  await CancellationScope.nonCancellable(() =>
    ctl.phase('summary', () =>
      short.finishRun({ connectionProfile: run.input.connectionProfile, runId: run.runId, status: ok ? 'completed' : result.outcome === 'aborted' ? 'aborted' : 'rolled_back' }),
    { finishing: true }),
  );
  if (ok) ctl.setState('completed');
  ctl.note(`summary: ${result.outcome}; ${result.backfill.rows} rows back-filled at ${result.backfill.rowsPerSecond} rows/s; final mode ${describeMode(result.finalMode)}`);
  return result;
}
