import { ApplicationFailure } from '@temporalio/workflow';
import type { PreflightResult } from '../../activities/production/preflight';
import type { PersistenceMode } from '../types';
import { MODES, short, type ProductionRun } from './run';

/**
 * Runbook "Pre-flight": register the run (one active run per table), find the live instances,
 * read the control row and count the records. Refuses a table that is already cut over.
 * Changes nothing the saga would undo (the registry entry is closed by the summary).
 */
export async function preflight(run: ProductionRun): Promise<void> {
  const { ctl, input, common } = run;
  const pre = await ctl.phase('preflight', async () => {
    // A dry run changes nothing, not even the run registry.
    if (!input.dryRun) await short.registerRun({ ...common, runId: run.runId, workflowId: run.result.workflowId, kind: 'productionCutover' });
    return short.preflight({ ...common, apps: input.apps });
  });
  run.instances = pre.instances.map((i) => ({ instanceId: i.instanceId, adminUrl: i.adminUrl }));
  run.startingMode = startingModeOf(pre);
  if (run.startingMode.persistence === 'postgres') {
    throw ApplicationFailure.nonRetryable(`${input.target} is already cut over (control row: postgres only, epoch ${pre.control?.epoch}); nothing to do`, 'PreflightFailed');
  }
  run.currentMode = run.startingMode;
  run.result.finalMode = run.startingMode;
  run.result.preflight = { schemaState: pre.schemaState, totalRecords: pre.totalRecords, control: pre.control, instances: run.instances.map((i) => i.instanceId) };
  ctl.note(`preflight: ${pre.instances.length} instances, ${pre.totalRecords} records over ${pre.months.length} months, schema ${pre.schemaState}`);
}

function startingModeOf(pre: PreflightResult): PersistenceMode {
  if (!pre.control) return MODES.memoryOnly;
  const c = pre.control;
  if (c.persistence === 'memory') return MODES.memoryOnly;
  if (c.persistence === 'dual-write') return c.primary === 'postgres' ? MODES.dualWritePostgresPrimary : MODES.dualWriteMemoryPrimary;
  return MODES.postgresOnly;
}
