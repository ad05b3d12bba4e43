import { ApplicationFailure } from '@temporalio/workflow';
import { short, type ConversionRun } from './run';

/**
 * Runbook conversion step 4: compare heap and shadow month by month; repair the months that
 * differ and compare again, at most `parity.maxRepairRounds` repair rounds (then roll back).
 */
export async function verifyParity(run: ConversionRun): Promise<void> {
  const { ctl, s, profile, summary } = run;
  await ctl.phase('verify', async () => {
    for (let round = 1; ; round++) {
      summary.parity.rounds = round;
      const months = await short.verifyConversionParity({ profile });
      summary.parity.months = months;
      const bad = months.filter((m) => !m.match);
      ctl.setProgress({ done: months.length - bad.length, total: months.length, unit: 'months' });
      if (bad.length === 0) return;
      if (round > s.maxRepairRounds) {
        throw ApplicationFailure.nonRetryable(
          `parity still differs after ${s.maxRepairRounds} repair rounds in ${bad.map((m) => m.month.slice(0, 7)).join(', ')}`, 'ParityMismatch');
      }
      for (const m of bad) summary.parity.repaired.push(await short.repairConversionMonth({ profile, month: m.month }));
    }
  });
}
