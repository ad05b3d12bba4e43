import type { BackfillChunkResult, BackfillUnit } from '../../activities/production/backfill';
import { failureMessage } from '../common/failures';
import { formatDuration } from '../common/run-details';
import { RollbackRequested } from './summary';
import { long, scan, type ProductionRun } from './run';
import { verifyAll } from './verify';

/**
 * Runbook step 2: copy every record from memory into Postgres (instance × month units,
 * `parallelism` lanes, each chunk an idempotent, checkpointed activity), then verify.
 * Nothing to undo: the rows copied are the rows memory holds, and dual-write goes on; when
 * either cannot complete, the run rolls back to the mode it started in.
 */
export async function backfillAndVerify(run: ProductionRun): Promise<void> {
  try {
    const plan = await run.ctl.phase('backfill', async () => {
      const p = await scan.planBackfill({ apps: run.appsRef, instances: run.instances });
      await copyUnits(run, p.units, false);
      return p;
    });
    await run.ctl.phase('verify', () => verifyAll(run, plan.months, true));
  } catch (err) {
    // The runbook's rollback when they cannot complete: back to the starting mode.
    if (run.ctl.isAbort(err)) throw err;
    throw new RollbackRequested('backfill-or-verify-incomplete', failureMessage(err));
  }
}

/** The runbook's BACKFILL_DRY_RUN: plan and count every unit, write nothing. */
export async function dryRunBackfill(run: ProductionRun): Promise<void> {
  await run.ctl.phase('backfill (dry run)', async () => {
    const plan = await scan.planBackfill({ apps: run.appsRef, instances: run.instances });
    await copyUnits(run, plan.units, true);
  });
  run.result.outcome = 'dry-run';
}

/** Copies `units` in lanes, adding each chunk's counts to the result and the progress. */
export async function copyUnits(run: ProductionRun, units: (BackfillUnit & { count: number })[], dryRun: boolean): Promise<void> {
  const { input, ctl } = run;
  const b = run.result.backfill;
  const total = units.reduce((a, u) => a + u.count, 0);
  const t0 = Date.now();
  const queue = [...units];
  b.units = units.length;
  const perLaneRate = input.backfill.maxRowsPerSecond > 0 ? Math.max(1, Math.floor(input.backfill.maxRowsPerSecond / input.backfill.parallelism)) : 0;
  const report = () => {
    const secs = Math.max(0.001, (Date.now() - t0) / 1000);
    const rate = b.rows / secs;
    b.seconds = Math.round(secs * 10) / 10;
    b.rowsPerSecond = Math.round(rate);
    ctl.setProgress({ done: b.rows, total: Math.max(total, b.rows), unit: 'rows', ratePerSec: rate, etaSeconds: rate > 0 ? Math.max(0, (total - b.rows) / rate) : undefined });
  };
  report();
  const lane = async () => {
    for (let unit = queue.shift(); unit; unit = queue.shift()) {
      let cursor: { createdAt: string; id: string } | null = null;
      for (;;) {
        const r: BackfillChunkResult = await long.backfillChunk({
          connectionProfile: input.connectionProfile,
          table: input.target,
          apps: run.appsRef,
          unit,
          cursor,
          batchSize: input.backfill.batchSize,
          chunkRows: input.backfill.chunkRows,
          maxRowsPerSecond: perLaneRate,
          throttleWriteP99Ms: input.backfill.throttleWriteP99Ms,
          dryRun,
        });
        b.rows += r.rows;
        b.written += r.written;
        b.skippedStale += r.skippedStale;
        b.skippedDeleted += r.skippedDeleted;
        for (const p of r.partitionsCreated) if (!b.partitionsCreated.includes(p)) b.partitionsCreated.push(p);
        if (r.resumedFrom) b.resumedChunks++;
        report();
        if (!r.nextCursor) break;
        cursor = r.nextCursor;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.backfill.parallelism, Math.max(1, units.length)) }, lane));
  ctl.note(`backfill${dryRun ? ' (dry run)' : ''}: ${b.rows} rows in ${formatDuration(b.seconds)}`);
}
