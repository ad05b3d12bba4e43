import { short, type ConversionRun } from './run';

/**
 * Runbook conversion "Pre-flight": with sync app-dual-write, the live app instances and the
 * control row; then the heap's size and months, and the run's registry entry (one active
 * run per table). Returns the months the shadow needs.
 */
export async function preflight(run: ConversionRun): Promise<string[]> {
  const { ctl, s, profile } = run;
  const pre = await ctl.phase('preflight', async () => {
    if (run.app) {
      const a = await short.checkAppSync(run.appSync);
      ctl.note(`sync app-dual-write: ${a.instances.length} live app instance(s) (${a.instances.join(', ')}); control row: ${a.control}`);
    }
    return short.conversionPreflight({ profile, target: s.target, runId: run.runId, workflowId: run.workflowId });
  });
  run.registered = true;
  run.summary.preflight = { heapRows: pre.heapRows, heapBytes: pre.heapBytes, months: pre.months };
  if (pre.shadowExists) ctl.note('a shadow table from an earlier run exists: reused (the copy and the parity repair converge it)');
  return pre.months;
}
