import { changeMode, MODES, type ProductionRun } from './run';

/**
 * Runbook step 7: Postgres only, dual-write disabled. The point of no return of the saga:
 * after it nothing is undone automatically (memory no longer receives writes).
 */
export async function finalCutover(run: ProductionRun): Promise<void> {
  await run.ctl.phase('final cutover', () => changeMode(run, MODES.postgresOnly, 'runbook step 7: final cutover, Postgres only, dual-write disabled'));
  run.saga.clear();
}
