import { ApplicationFailure } from '@temporalio/workflow';
import type { MonthParity } from '../../activities/production/verify';
import { long, type ProductionRun } from './run';

/**
 * Runbook step 3: verify every month (count and checksum in both stores); repair drifting
 * months from memory and re-verify, at most `verify.maxRepairRounds` rounds. `deleteExtras`
 * removes rows only Postgres has (right before the switch; never after Postgres was primary).
 */
export async function verifyAll(run: ProductionRun, months: { month: string; from: string; to: string }[], deleteExtras: boolean): Promise<void> {
  const { input, ctl, result } = run;
  let pending = months;
  for (let round = 0; ; round++) {
    const repair = round < input.verify.maxRepairRounds;
    // Months are independent: two lanes at a time.
    const results: MonthParity[] = [];
    const queue = [...pending];
    const lane = async () => {
      for (let range = queue.shift(); range; range = queue.shift()) {
        results.push(await long.verifyMonth({ connectionProfile: input.connectionProfile, table: input.target, apps: run.appsRef, instances: run.instances, range, repair, deleteExtras }));
        ctl.setProgress({ done: results.length, total: pending.length, unit: 'months' });
      }
    };
    await Promise.all([lane(), lane()]);
    results.sort((a, b) => a.month.localeCompare(b.month));
    for (const p of results) {
      const at = result.parity.findIndex((x) => x.month === p.month);
      // The month's latest parity, with every repair made to it during the run (a re-verify
      // that finds it equal must not erase what the previous round repaired).
      if (at >= 0) result.parity[at] = { ...p, repaired: result.parity[at].repaired + p.repaired };
      else result.parity.push(p);
    }
    const drifting = results.filter((p) => !p.match);
    if (drifting.length === 0) return;
    ctl.note(`verify round ${round + 1}: ${drifting.length} month(s) drift (${drifting.map((d) => d.month).join(', ')})${repair ? '; repaired, re-verifying' : ''}`);
    if (!repair) {
      throw ApplicationFailure.nonRetryable(`parity cannot be reached for ${drifting.map((d) => d.month).join(', ')} after ${input.verify.maxRepairRounds} repair rounds`, 'ParityMismatch');
    }
    pending = months.filter((m) => drifting.some((d) => d.month === m.month));
  }
}
