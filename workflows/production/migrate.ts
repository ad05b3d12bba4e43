import { failureMessage, failureType } from '../common/failures';
import { short, type ProductionRun } from './run';

/**
 * Runbook step 4: the safe migration again, then its checks (functions, partitions, indexes).
 * A migration that fails for a reason retrying cannot fix waits for an operator: fix the
 * cause and resume with "retry", or abort (the saga then restores the starting mode).
 */
export async function migrate(run: ProductionRun): Promise<void> {
  const { ctl } = run;
  run.result.migrate = await ctl.phase('migrate', async () => {
    for (;;) {
      try {
        return await short.migrateAndCheck(run.common);
      } catch (err) {
        const t = failureType(err);
        if (t !== 'MigrationFailedError' && t !== 'MigrationChangedError') throw err;
        ctl.note(`migration failed (non-retryable): ${failureMessage(err)}`);
        await ctl.waitForOperator(`the safe migration failed: ${failureMessage(err)} — fix the cause, then resume with decision "retry", or abort`);
      }
    }
  });
}
