import type { Compensation } from '../common/saga';
import { changeMode, describeMode, MODES, type ProductionRun } from './run';

/**
 * The production run's undos, by key: enable-dual-write and switch-primary add them, and a run
 * that takes over after a hand-over rebuilds the pending ones from the keys it carried.
 */
export type CompensationKey = 'restore-starting-mode' | 'revert-to-memory-primary';

export function compensation(run: ProductionRun, key: CompensationKey): Compensation {
  switch (key) {
    case 'restore-starting-mode':
      return {
        key,
        name: `restore ${describeMode(run.startingMode)}`,
        undo: () => changeMode(run, run.startingMode, 'rollback: restore the starting mode'),
        byHand: `set the control row of ${run.input.target} back to ${describeMode(run.startingMode)} (UPDATE cutover_control, epoch + 1) and check every live instance acknowledged the new epoch`,
      };
    case 'revert-to-memory-primary':
      return {
        key,
        name: 'revert to dual-write with memory primary',
        undo: () => changeMode(run, MODES.dualWriteMemoryPrimary, 'rollback: revert to dual-write with memory primary'),
        byHand: `set the control row of ${run.input.target} to dual-write with memory primary (UPDATE cutover_control, epoch + 1) and check every live instance acknowledged the new epoch`,
      };
    default:
      throw new Error(`unknown compensation ${String(key)} carried from the previous run`);
  }
}
