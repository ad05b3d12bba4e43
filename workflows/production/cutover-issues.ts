import { CancellationScope, patched } from '@temporalio/workflow';
import type { MetricsSnapshot } from '../../activities/production/health';
import { PATCHES } from '../patches';
import { describeMode, MODES, scan, short, type ProductionRun } from './run';
import type { MonitoringIssue } from './monitoring';
import { verifyAll } from './verify';

/**
 * Runbook "If Cutover Has Issues": revert to dual-write with memory primary (the switch's own
 * undo, taken off the saga), investigate, and let the operator decide; a "retry" switches the
 * primary again. `verified` is where the stores were last known equal; returns the new one.
 */
export async function cutoverHasIssues(run: ProductionRun, issue: MonitoringIssue, verified: MetricsSnapshot): Promise<MetricsSnapshot> {
  const { ctl, input } = run;
  const cause = issue.message;
  const rec = ctl.recordRollback('cutover-issues', cause);
  const revert = run.saga.pop()!;
  await CancellationScope.nonCancellable(() => ctl.phase('revert to dual-write (memory primary)', () => revert.undo()));
  ctl.rollbackEnded(rec, describeMode(MODES.dualWriteMemoryPrimary));
  const findings = await ctl.phase('investigate', () => short.investigate({ connectionProfile: input.connectionProfile, table: input.target }));
  run.result.investigations.push(findings);
  const bad = findings.filter((f) => !f.ok).map((f) => `${f.check}: ${f.detail}${f.fix ? ` (fix: ${f.fix})` : ''}`);
  await ctl.waitForOperator(`cutover issues during monitoring (${cause}); investigation: ${bad.length ? bad.join('; ') : 'no fault found'} — resume with decision "retry" to switch the primary again, or abort`);
  if (patched(PATCHES.reconcileBeforeRetry.id)) return reconcileBeforeRetry(run, verified);
  return verified;
}

/**
 * Before the primary is switched again: while memory was primary, a Postgres write that
 * failed was counted in dual_write_failures_total and left Postgres behind. Switching back
 * then would serve those records stale, and a sampled check may never notice. So while
 * failures are counted since the stores were last known equal, verify every month and repair
 * Postgres from memory (rows only Postgres has are kept: they may be writes acknowledged
 * while it was primary), then look again: a pass is good when no failure was counted while
 * it ran. Returns the new point where the stores are known equal.
 */
async function reconcileBeforeRetry(run: ProductionRun, since: MetricsSnapshot): Promise<MetricsSnapshot> {
  const { ctl, input } = run;
  let from = since;
  for (let pass = 1; ; pass++) {
    const now = await short.metricsSnapshot({ apps: run.appsRef, instances: run.instances });
    const failures = failuresBetween(from, now);
    if (failures === 0) {
      ctl.note(pass === 1 ? 'retry: no dual-write failure since the last verify; the stores are still equal' : 'retry: no dual-write failure during the verify; Postgres is caught up');
      return now;
    }
    const counted = failures > 0 ? `${failures} dual-write failure(s)` : 'an instance restart (its failure count is unknown)';
    if (pass > input.verify.maxRepairRounds + 1) {
      await ctl.waitForOperator(`Postgres still fails writes: ${counted} while the stores were being verified — fix Postgres, then resume with decision "retry" to verify again, or abort`);
      pass = 0; // `from` stays: those failures are still to be repaired
      continue;
    }
    ctl.note(`retry: ${counted} ${pass === 1 ? 'since the last verify' : 'during the verify'}; verifying and repairing Postgres from memory before switching the primary again`);
    await ctl.phase('verify and repair before switching again', async () => {
      const p = await scan.planBackfill({ apps: run.appsRef, instances: run.instances });
      await verifyAll(run, p.months, false);
    });
    from = now;
  }
}

/**
 * dual_write_failures_total counted across all instances between two snapshots; -1 when an
 * instance's counter went backwards or an instance is new (a restart: the count is unknown).
 */
function failuresBetween(prev: MetricsSnapshot, cur: MetricsSnapshot): number {
  let total = 0;
  for (const c of cur.instances) {
    const p = prev.instances.find((x) => x.instanceId === c.instanceId);
    if (!p || c.failures < p.failures) return -1;
    total += c.failures - p.failures;
  }
  return total;
}
