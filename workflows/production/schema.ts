import { short, type ProductionRun } from './run';

/**
 * Runbook "Ensure the schema": the safe migration (idempotent: creates the partitioned table,
 * its functions and the months' partitions when absent). Nothing to undo: it only adds.
 */
export async function ensureSchema(run: ProductionRun): Promise<void> {
  await run.ctl.phase('ensure schema', () => short.ensureSchema(run.common));
}
