import { CancellationScope } from '@temporalio/workflow';
import { describeFailure } from '../common/failures';
import { rollbackIncomplete } from '../common/saga';
import { rollbackActs, short, type ConversionRun, type ConversionSummary } from './run';
import { SWAP_BACK } from './swap';

/** Runbook conversion "Summary": close the run's registry entry. */
export async function finish(run: ConversionRun): Promise<ConversionSummary> {
  await run.ctl.phase('summary', async () => {
    await short.finishConversionRun({ profile: run.profile, runId: run.runId, status: 'completed' });
  });
  run.ctl.setState('completed');
  return run.summary;
}

/**
 * An abort or a failure: undo the saga in reverse (before the swap: mirror, trigger and shadow
 * removed, the source untouched; after it: swapped back). A failing undo is recorded and the
 * rest still run; then the run fails with RollbackIncomplete naming what to do by hand.
 */
export async function rollBack(run: ConversionRun, err: unknown): Promise<ConversionSummary> {
  const { ctl, summary } = run;
  const aborted = ctl.isAbort(err);
  const cause = aborted ? `aborted by ${ctl.aborted!.operator}: ${ctl.aborted!.reason}` : describeFailure(err);
  summary.cause = cause;
  ctl.setState('rolling-back', `rolling back: ${cause}`);
  const undone = run.saga.pending.length > 0;
  const afterSwap = run.saga.pending.some((c) => c.name === SWAP_BACK);
  const failed = await run.saga.compensate(async (c) => {
    await c.undo();
    ctl.note(`compensated: ${c.name}`);
  });
  if (run.registered) {
    const status = failed.length ? 'failed' : aborted ? 'aborted' : 'rolled_back';
    await CancellationScope.nonCancellable(() => rollbackActs.finishConversionRun({ profile: run.profile, runId: run.runId, status })).catch((e) => {
      failed.push({ name: 'finish run', why: describeFailure(e), byHand: `UPDATE cutover_runs SET status = '${status}' for run ${run.runId}` });
    });
  }
  if (undone) {
    const what = run.app ? 'app mirror' : 'sync';
    ctl.recordRollback(afterSwap ? `after-swap: swapped back, ${what} and shadow removed` : `before-swap: ${run.app ? 'app mirror' : 'sync trigger'} and shadow removed, source untouched`, cause, 'heap memory_records (unchanged)');
  }
  ctl.recordCompensationFailures(failed);
  if (failed.length) {
    ctl.setState('failed', `rollback incomplete: ${failed.map((f) => `${f.name}: ${f.why}`).join('; ')}`);
    throw rollbackIncomplete(cause, failed);
  }
  if (!run.registered && !aborted) {
    // Nothing changed (preflight refused): surface the refusal itself.
    ctl.setState('failed', cause);
    throw err;
  }
  summary.outcome = aborted ? 'aborted' : 'rolled-back';
  ctl.setState(aborted ? 'aborted' : 'rolled-back');
  return summary;
}
