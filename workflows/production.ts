import { allHandlersFinished, condition, patched } from '@temporalio/workflow';
import type { MetricsSnapshot } from '../activities/production/health';
import { parseWorkflowInput } from './common/validate';
import { PATCHES } from './patches';
import { parseProductionInput, type ProductionCutoverInput } from './production-input';
import { preflight } from './production/preflight';
import { ensureSchema } from './production/schema';
import { enableDualWrite } from './production/dual-write';
import { backfillAndVerify, dryRunBackfill } from './production/backfill';
import { migrate } from './production/migrate';
import { switchPrimary } from './production/switch-primary';
import { baselineStart, measureBaseline, monitor } from './production/monitoring';
import { cutoverHasIssues } from './production/cutover-issues';
import { finalCutover } from './production/final-cutover';
import { checkFleet, installForgetInstance } from './production/membership';
import { checkQuarantine } from './production/quarantine';
import { reconcileSwitchWindow, reconcileUntilQuiet, verifyAndRepair } from './production/reconcile';
import { endAfterFailure, summarize } from './production/summary';
import { short, startRun, type ProductionCutoverResult } from './production/run';

export { MODES, describeMode, type CutoverOutcome, type ProductionCutoverResult } from './production/run';

/**
 * The runbook's "For Production (With Existing Phase 2 Data)" as one durable run. Each step
 * is one module under workflows/production/ (ARCHITECTURE.md maps runbook step → module →
 * activity); a step that changes the app's mode adds its undo to the run's saga, and any
 * failure after that — or an operator's abort — undoes them in reverse (summary.ts).
 */
export async function productionCutover(rawInput: ProductionCutoverInput): Promise<ProductionCutoverResult> {
  const input = parseWorkflowInput(() => parseProductionInput(rawInput));
  const run = startRun(input);
  installForgetInstance(run);
  const { ctl } = run;
  try {
    await ctl.runCancellable(async () => {
      await preflight(run);
      if (input.dryRun) return dryRunBackfill(run);

      await ensureSchema(run);
      if (input.approvals.beforeBackfill) await ctl.gate('backfill', 'dual-write and the backfill start next');
      await enableDualWrite(run); // undo: restore the starting mode
      const start = await baselineStart(run);
      await backfillAndVerify(run); // cannot complete: roll back to the starting mode
      await migrate(run); // fails: wait for the operator (retry or abort)
      const baseline = await measureBaseline(run, start);

      if (input.approvals.beforeSwitchPrimary) await ctl.gate('switch-primary', 'Postgres becomes the primary store next');
      // The stores were last known equal here (verify just passed).
      let verified = baseline.snapshot;
      // Writes may have failed in Postgres since (the gate can stay open for hours): repair
      // before switching (reconcile.ts). Retries reconcile in cutoverHasIssues.
      const everySwitch = patched(PATCHES.reconcileBeforeEverySwitch.id);
      if (everySwitch) verified = await reconcileUntilQuiet(run, verified, 'first');
      // Members that answer now but were not read (frozen across preflight, started later) are back-filled first (membership.ts).
      const fleetAware = patched(PATCHES.membershipInTheRun.id);
      let switched: MetricsSnapshot | undefined;
      for (;;) {
        if (fleetAware) await checkFleet(run, 'switch of the primary');
        if (fleetAware) await checkQuarantine(run, 'switch of the primary');
        await switchPrimary(run); // undo: revert to dual-write with memory primary
        if (everySwitch) switched = await short.metricsSnapshot({ apps: run.appsRef, instances: run.instances });
        const issue = await monitor(run, baseline.p99Ms); // data loss: re-run the backfill, go on
        if (!issue) break;
        verified = await cutoverHasIssues(run, issue, verified); // revert, investigate, operator retries
      }

      if (input.approvals.beforeFinalCutover) await ctl.gate('final-cutover', 'Postgres only; dual-write is disabled next');
      // Postgres may lack a write memory acknowledged while the switch was rolling out.
      // Memory is dropped next: every month is verified and Postgres repaired from memory (the
      // sampled parity of the monitoring window may miss a loss); before the patch, only when
      // failures were counted while the switch rolled out.
      if (fleetAware) await ctl.phase('verify and repair before the final cutover', () => verifyAndRepair(run));
      else if (switched) await reconcileSwitchWindow(run, verified, switched);
      // Refused while a member has not acknowledged the latest epoch: the operator brings it back or forgets it.
      if (fleetAware) await checkFleet(run, 'final cutover');
      if (fleetAware) await checkQuarantine(run, 'final cutover');
      await finalCutover(run); // nothing left to undo
    });
  } catch (err) {
    await endAfterFailure(run, err); // abort or failure: undo the saga in reverse
  }
  // A forgetInstance in flight (it runs an activity) finishes and is recorded before the result.
  await condition(allHandlersFinished);
  return summarize(run);
}
