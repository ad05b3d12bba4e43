import type { Compensation } from '../common/saga';
import { recordKept } from './kept';
import { rollbackActs, type ConversionRun } from './run';

/** The name of the swap's undo (the ending tells a rollback after the swap by it). */
export const SWAP_BACK = 'swap back';

/**
 * The memory_records conversion's undos, by key: the steps add them, and a run that takes
 * over after a hand-over rebuilds the pending ones from the keys it carried.
 */
export type ConversionCompensationKey = 'remove-shadow' | 'remove-app-mirror' | 'swap-back';

export function conversionCompensation(run: ConversionRun, key: ConversionCompensationKey): Compensation {
  const { profile, s } = run;
  switch (key) {
    case 'remove-shadow':
      return {
        key,
        name: 'remove sync and shadow',
        undo: async () => {
          const r = await rollbackActs.removeShadow({ profile, lock: s.lock });
          recordKept(run.ctl, run.summary, r);
        },
        byHand: 'drop the sync trigger on memory_records; DROP TABLE memory_records_partitioned only after checking it holds no row memory_records lacks (memory_records itself is untouched)',
      };
    case 'remove-app-mirror':
      return {
        key,
        name: 'remove the app mirror',
        undo: () => rollbackActs.removeAppMirror({ ...run.appSync, reason: 'conversion rolled back: the app stops mirroring into the shadow' }),
        byHand: 'set cutover_control.mirror_table of memory_records to NULL (UPDATE cutover_control, epoch + 1) and check every live instance acknowledged the new epoch',
      };
    case 'swap-back':
      return {
        key,
        name: SWAP_BACK,
        undo: async () => {
          const r = await rollbackActs.swapBack(run.swapInput);
          recordKept(run.ctl, run.summary, r);
        },
        byHand: 'rename memory_records → memory_records_partitioned and memory_records_old → memory_records in one transaction, then remove the reverse sync',
      };
    default:
      throw new Error(`unknown compensation ${String(key)} carried from the previous run`);
  }
}
