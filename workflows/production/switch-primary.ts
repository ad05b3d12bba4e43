import { changeMode, MODES, type ProductionRun } from './run';

const REVERT_REASON = 'rollback: revert to dual-write with memory primary';

/**
 * Runbook step 5: switch the primary to Postgres (dual-write goes on). Its undo, added before
 * the change, reverts to dual-write with memory primary — the runbook's "If Cutover Has
 * Issues" step 1, which `cutoverHasIssues` runs itself.
 */
export async function switchPrimary(run: ProductionRun): Promise<void> {
  await run.ctl.phase('switch primary to postgres', async () => {
    run.saga.add({
      name: 'revert to dual-write with memory primary',
      undo: () => changeMode(run, MODES.dualWriteMemoryPrimary, REVERT_REASON),
      byHand: `set the control row of ${run.input.target} to dual-write with memory primary (UPDATE cutover_control, epoch + 1) and check every live instance acknowledged the new epoch`,
    });
    await changeMode(run, MODES.dualWritePostgresPrimary, 'runbook step 5: switch primary to Postgres');
  });
}
