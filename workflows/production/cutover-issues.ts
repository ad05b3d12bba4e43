import { CancellationScope, patched } from '@temporalio/workflow';
import type { MetricsSnapshot } from '../../activities/production/health';
import { PATCHES } from '../patches';
import { describeMode, MODES, short, type ProductionRun } from './run';
import type { MonitoringIssue } from './monitoring';
import { reconcileUntilQuiet } from './reconcile';

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
  if (patched(PATCHES.reconcileBeforeRetry.id)) return reconcileUntilQuiet(run, verified, 'retry');
  return verified;
}
