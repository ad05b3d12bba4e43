import { short, type ConversionRun } from './run';
import { conversionCompensation } from './compensations';

/**
 * Runbook conversion step 1: create the partitioned shadow (memory_records_partitioned) with
 * the heap's months and `premakeMonths` ahead. Its undo — added first, so a half-made shadow
 * goes too — removes the sync trigger and the shadow; the source table is untouched.
 */
export async function createShadow(run: ConversionRun, months: string[]): Promise<void> {
  const { ctl, s, profile } = run;
  run.saga.add(conversionCompensation(run, 'remove-shadow'));
  const shadow = await ctl.phase('create shadow', () => short.createShadow({ profile, months, premakeMonths: s.premakeMonths }));
  run.summary.partitions = shadow.partitions;
}
