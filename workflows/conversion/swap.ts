import { ApplicationFailure } from '@temporalio/workflow';
import { isFailureOfType } from '../common/failures';
import { short, swapActs, type ConversionRun } from './run';
import { conversionCompensation } from './compensations';

export { SWAP_BACK } from './compensations';

/**
 * Runbook conversion step 5: the atomic swap (renames in one transaction, bounded
 * lock_timeout, retried with backoff; the reverse sync keeps memory_records_old complete).
 * When it cannot take its locks, an operator ends the blocking transaction and retries.
 * Its undo swaps back (added after: a failed swap changed nothing).
 */
export async function swap(run: ConversionRun): Promise<void> {
  const { ctl, s, summary } = run;
  await ctl.phase('swap', async () => {
    let operatorRetries = 0;
    for (;;) {
      try {
        const r = await swapActs.swapTables(run.swapInput);
        summary.swap = { ...r, operatorRetries };
        return;
      } catch (err) {
        if (!isFailureOfType(err, 'SwapLockTimeout')) throw err;
        ctl.note(`swap could not take its locks in ${s.lock.maxTries} tries of ${s.lock.lockTimeoutMs} ms`);
        await ctl.waitForOperator(`the swap could not take its locks in ${s.lock.maxTries} tries (lock_timeout ${s.lock.lockTimeoutMs} ms): a long transaction holds a lock on ${s.target}; end it, then retry`);
        operatorRetries++;
      }
    }
  });
  run.saga.add(conversionCompensation(run, 'swap-back'));
}

/** Runbook conversion step 6: the partitioned table serves reads and writes as the heap did. */
export async function postSwapCheck(run: ConversionRun): Promise<void> {
  const { ctl, s, profile, summary } = run;
  await ctl.phase('post-swap check', async () => {
    const r = await short.postSwapCheck({ profile, sync: s.sync, target: s.target });
    summary.postSwap = r;
    if (!r.ok) throw ApplicationFailure.nonRetryable(`post-swap check failed: ${r.problems.join('; ')}`, 'PostSwapCheckFailed');
  });
}
