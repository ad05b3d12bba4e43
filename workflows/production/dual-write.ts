import { changeMode, describeMode, MODES, type ProductionRun } from './run';

/**
 * Runbook step 1: enable dual-write with memory primary. Its undo (added before the change,
 * so a barrier that times out half-way is undone too) restores the mode the run started in.
 */
export async function enableDualWrite(run: ProductionRun): Promise<void> {
  await run.ctl.phase('enable dual-write (memory primary)', async () => {
    run.saga.add({
      name: `restore ${describeMode(run.startingMode)}`,
      undo: () => changeMode(run, run.startingMode, 'rollback: restore the starting mode'),
      byHand: `set the control row of ${run.input.target} back to ${describeMode(run.startingMode)} (UPDATE cutover_control, epoch + 1) and check every live instance acknowledged the new epoch`,
    });
    await changeMode(run, MODES.dualWriteMemoryPrimary, 'runbook step 1: enable dual-write with memory primary');
  });
}
