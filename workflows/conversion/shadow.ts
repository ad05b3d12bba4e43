import { rollbackActs, short, type ConversionRun } from './run';

/**
 * Runbook conversion step 1: create the partitioned shadow (memory_records_partitioned) with
 * the heap's months and `premakeMonths` ahead. Its undo — added first, so a half-made shadow
 * goes too — removes the sync trigger and the shadow; the source table is untouched.
 */
export async function createShadow(run: ConversionRun, months: string[]): Promise<void> {
  const { ctl, s, profile } = run;
  run.saga.add({
    name: 'remove sync and shadow',
    undo: () => rollbackActs.removeShadow({ profile, lock: s.lock }),
    byHand: 'drop the sync trigger on memory_records and DROP TABLE memory_records_partitioned (memory_records itself is untouched)',
  });
  const shadow = await ctl.phase('create shadow', () => short.createShadow({ profile, months, premakeMonths: s.premakeMonths }));
  run.summary.partitions = shadow.partitions;
}
