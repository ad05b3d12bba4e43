import type { MetricsSnapshot } from '../../activities/production/health';
import { scan, short, type ProductionRun } from './run';
import { verifyAll } from './verify';

/** Where the reconcile runs; the retry's texts are those recorded before the first switch had one. */
const RECONCILE_POINTS = {
  first: { when: 'switch', before: 'before switching the primary', phase: 'verify and repair before switching the primary' },
  retry: { when: 'retry', before: 'before switching the primary again', phase: 'verify and repair before switching again' },
} as const;
export type ReconcilePoint = keyof typeof RECONCILE_POINTS;

/**
 * Before the primary is switched (the first time and on every retry): while memory was
 * primary, a Postgres write that failed was counted in dual_write_failures_total and left
 * Postgres behind. Switching then would serve those records stale, and a sampled check may
 * never notice. So while failures are counted since the stores were last known equal, verify
 * every month and repair Postgres from memory (rows only Postgres has are kept: they may be
 * writes acknowledged while it was primary), then look again: a pass is good when no failure
 * was counted while it ran. Returns the new point where the stores are known equal.
 */
export async function reconcileUntilQuiet(run: ProductionRun, since: MetricsSnapshot, at: ReconcilePoint): Promise<MetricsSnapshot> {
  const { when, before, phase } = RECONCILE_POINTS[at];
  const { ctl, input } = run;
  let from = since;
  for (let pass = 1; ; pass++) {
    const now = await short.metricsSnapshot({ apps: run.appsRef, instances: run.instances });
    const failures = failuresBetween(from, now);
    if (failures === 0) {
      ctl.note(pass === 1 ? `${when}: no dual-write failure since the last verify; the stores are still equal` : `${when}: no dual-write failure during the verify; Postgres is caught up`);
      return now;
    }
    const counted = describeFailures(failures);
    if (pass > input.verify.maxRepairRounds + 1) {
      await ctl.waitForOperator(`Postgres still fails writes: ${counted} while the stores were being verified — fix Postgres, then resume with decision "retry" to verify again, or abort`);
      pass = 0; // `from` stays: those failures are still to be repaired
      continue;
    }
    ctl.note(`${when}: ${counted} ${pass === 1 ? 'since the last verify' : 'during the verify'}; verifying and repairing Postgres from memory ${before}`);
    await ctl.phase(phase, () => verifyAndRepair(run));
    from = now;
  }
}

/**
 * Before the final cutover (Postgres primary, dual-write): a failure counted now is a
 * *memory* write that failed, and memory is about to be dropped, so it needs nothing. What
 * can still be missing from Postgres is a write acknowledged by memory while an instance was
 * still memory-primary: between `equal` (where the reconcile before the last switch left the
 * stores equal) and `switched` (taken once every instance acknowledged the switch). When
 * failures were counted in that window (or an instance restarted in it), verify every month
 * and repair Postgres from memory once. The repair only fills gaps: an upsert is guarded by
 * updated_at and rows only Postgres has are kept, so a memory that is behind (its own write
 * failed under Postgres primary) cannot overwrite Postgres. One pass suffices: failures
 * counted after `switched` are memory's.
 */
export async function reconcileSwitchWindow(run: ProductionRun, equal: MetricsSnapshot, switched: MetricsSnapshot): Promise<void> {
  const failures = failuresBetween(equal, switched);
  if (failures === 0) {
    run.ctl.note('final cutover: no dual-write failure while any instance was memory-primary since the last verify; Postgres holds every acknowledged write');
    return;
  }
  run.ctl.note(`final cutover: ${describeFailures(failures)} while the primary was being switched; verifying and repairing Postgres from memory before memory is dropped`);
  await run.ctl.phase('verify and repair before the final cutover', () => verifyAndRepair(run));
}

export async function verifyAndRepair(run: ProductionRun): Promise<void> {
  const p = await scan.planBackfill({ apps: run.appsRef, instances: run.instances });
  await verifyAll(run, p.months, false);
}

function describeFailures(failures: number): string {
  return failures > 0 ? `${failures} dual-write failure(s)` : 'an instance restart (its failure count is unknown)';
}

/**
 * dual_write_failures_total counted across all instances between two snapshots; -1 when an
 * instance's counter went backwards or an instance is new (a restart: the count is unknown).
 */
export function failuresBetween(prev: MetricsSnapshot, cur: MetricsSnapshot): number {
  let total = 0;
  for (const c of cur.instances) {
    const p = prev.instances.find((x) => x.instanceId === c.instanceId);
    if (!p || c.failures < p.failures) return -1;
    total += c.failures - p.failures;
  }
  return total;
}
