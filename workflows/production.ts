import { allHandlersFinished, condition, patched } from '@temporalio/workflow';
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
import { checkpoint, resumeRun } from './production/continuation-state';
import { PRODUCTION_STAGE_ORDER, type ProductionStage } from './production/stages';
import { acceptContinued, isHandOver } from './common/continuation';

export { MODES, describeMode, type CutoverOutcome, type ProductionCutoverResult } from './production/run';

/**
 * The runbook's "For Production (With Existing Phase 2 Data)" as one durable run. Each step
 * is one module under workflows/production/ (ARCHITECTURE.md maps runbook step → module →
 * activity); a step that changes the app's mode adds its undo to the run's saga, and any
 * failure after that — or an operator's abort — undoes them in reverse (summary.ts).
 */
export async function productionCutover(rawInput: ProductionCutoverInput): Promise<ProductionCutoverResult> {
  const input = parseWorkflowInput(() => parseProductionInput(rawInput));
  acceptContinued(input.continued);
  const { continued, ...given } = (rawInput ?? {}) as ProductionCutoverInput & Record<string, unknown>;
  const run = continued ? resumeRun({ ...input, continued }, given) : startRun(input, given);
  installForgetInstance(run);
  const { ctl, locals } = run;
  // A run that took over after a hand-over (bounded histories) starts at the stage it carried.
  const from = PRODUCTION_STAGE_ORDER.indexOf(run.stage);
  const reached = (s: ProductionStage) => from <= PRODUCTION_STAGE_ORDER.indexOf(s);
  try {
    await ctl.runCancellable(async () => {
      if (reached('preflight')) await preflight(run);
      if (input.dryRun) return dryRunBackfill(run);

      if (reached('schema')) {
        await checkpoint(run, 'schema');
        await ensureSchema(run);
        if (input.approvals.beforeBackfill) await ctl.gate('backfill', 'dual-write and the backfill start next');
      }
      if (reached('dual-write')) {
        await checkpoint(run, 'dual-write');
        await enableDualWrite(run); // undo: restore the starting mode
        locals.start = await baselineStart(run);
      }
      if (reached('backfill')) {
        await checkpoint(run, 'backfill');
        await backfillAndVerify(run); // cannot complete: roll back to the starting mode (hands over between chunks)
      }
      if (reached('migrate')) {
        await checkpoint(run, 'migrate');
        await migrate(run); // fails: wait for the operator (retry or abort)
      }
      if (reached('baseline')) {
        await checkpoint(run, 'baseline');
        locals.baseline = await measureBaseline(run, locals.start!);
        if (input.approvals.beforeSwitchPrimary) await ctl.gate('switch-primary', 'Postgres becomes the primary store next');
        // The stores were last known equal here (verify just passed).
        locals.verified = locals.baseline.snapshot;
        // Writes may have failed in Postgres since (the gate can stay open for hours): repair
        // before switching (reconcile.ts). Retries reconcile in cutoverHasIssues.
        locals.everySwitch = patched(PATCHES.reconcileBeforeEverySwitch.id);
        if (locals.everySwitch) locals.verified = await reconcileUntilQuiet(run, locals.verified, 'first');
        // Members that answer now but were not read (frozen across preflight, started later) are back-filled first (membership.ts).
        locals.fleetAware = patched(PATCHES.membershipInTheRun.id);
      }
      const { everySwitch, fleetAware } = locals;
      if (reached('switch')) {
        for (;;) {
          // Not when a monitoring window a previous run began is still going on.
          if (!locals.monitor) {
            await checkpoint(run, 'switch');
            if (fleetAware) await checkFleet(run, 'switch of the primary');
            if (fleetAware) await checkQuarantine(run, 'switch of the primary');
            await switchPrimary(run); // undo: revert to dual-write with memory primary
            if (everySwitch) locals.switched = await short.metricsSnapshot({ apps: run.appsRef, instances: run.instances });
          }
          const issue = await monitor(run, locals.baseline!.p99Ms); // data loss: re-run the backfill, go on (hands over between checks)
          if (!issue) break;
          locals.verified = await cutoverHasIssues(run, issue, locals.verified!); // revert, investigate, operator retries
        }
      }

      await checkpoint(run, 'final');
      if (input.approvals.beforeFinalCutover) await ctl.gate('final-cutover', 'Postgres only; dual-write is disabled next');
      // Postgres may lack a write memory acknowledged while the switch was rolling out.
      // Memory is dropped next: every month is verified and Postgres repaired from memory (the
      // sampled parity of the monitoring window may miss a loss); before the patch, only when
      // failures were counted while the switch rolled out.
      if (fleetAware) await ctl.phase('verify and repair before the final cutover', () => verifyAndRepair(run));
      else if (locals.switched) await reconcileSwitchWindow(run, locals.verified!, locals.switched);
      // Refused while a member has not acknowledged the latest epoch: the operator brings it back or forgets it.
      if (fleetAware) await checkFleet(run, 'final cutover');
      if (fleetAware) await checkQuarantine(run, 'final cutover');
      await finalCutover(run); // nothing left to undo
    });
  } catch (err) {
    if (isHandOver(err)) throw err; // continued as new: the next run goes on
    await endAfterFailure(run, err); // abort or failure: undo the saga in reverse
  }
  // A forgetInstance in flight (it runs an activity) finishes and is recorded before the result.
  await condition(allHandlersFinished);
  return summarize(run);
}
