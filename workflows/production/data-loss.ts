import type { HealthReport } from '../../activities/production/health';
import { describeMode, MODES, scan, type ProductionRun } from './run';
import { copyUnits, planned } from './backfill';
import { verifyAll } from './verify';

/**
 * Runbook "If data loss detected" (a health check found records Postgres lacks): keep
 * dual-write, re-run the backfill from memory and verify, then go on monitoring. Its own
 * rollback record says what happened; nothing is added to the saga (the copy only converges).
 */
export async function repairDataLoss(run: ProductionRun, report: HealthReport): Promise<void> {
  const { ctl } = run;
  const rec = ctl.recordRollback('data-loss', report.reasons.join('; '));
  await ctl.phase('re-run backfill from memory', async () => {
    const p = await scan.planBackfill({ apps: run.appsRef, instances: run.instances });
    await copyUnits(run, planned(p), false);
    await verifyAll(run, p.months, false);
  });
  ctl.rollbackEnded(rec, describeMode(run.currentMode ?? MODES.dualWritePostgresPrimary));
  ctl.backInPhase('monitoring');
  ctl.setState('running');
}
