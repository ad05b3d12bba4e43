import { changeMode, MODES, type ProductionRun } from './run';
import { compensation } from './compensations';

/**
 * Runbook step 1: enable dual-write with memory primary. Its undo (added before the change,
 * so a barrier that times out half-way is undone too) restores the mode the run started in.
 */
export async function enableDualWrite(run: ProductionRun): Promise<void> {
  await run.ctl.phase('enable dual-write (memory primary)', async () => {
    run.saga.add(compensation(run, 'restore-starting-mode'));
    await changeMode(run, MODES.dualWriteMemoryPrimary, 'runbook step 1: enable dual-write with memory primary');
  });
}
