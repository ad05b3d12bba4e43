import { changeMode, MODES, type ProductionRun } from './run';
import { compensation } from './compensations';

/**
 * Runbook step 5: switch the primary to Postgres (dual-write goes on). Its undo, added before
 * the change, reverts to dual-write with memory primary — the runbook's "If Cutover Has
 * Issues" step 1, which `cutoverHasIssues` runs itself.
 */
export async function switchPrimary(run: ProductionRun): Promise<void> {
  await run.ctl.phase('switch primary to postgres', async () => {
    run.saga.add(compensation(run, 'revert-to-memory-primary'));
    await changeMode(run, MODES.dualWritePostgresPrimary, 'runbook step 5: switch primary to Postgres');
  });
}
