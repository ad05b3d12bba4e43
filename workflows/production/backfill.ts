import type { BackfillChunkResult, BackfillUnit } from '../../activities/production/backfill';
import { handOverDue, isHandOver } from '../common/continuation';
import { checkpoint } from './continuation-state';
import { failureMessage } from '../common/failures';
import { formatDuration } from '../common/run-details';
import { RollbackRequested } from './summary';
import { long, scan, type BackfillWork, type ProductionRun } from './run';
import { verifyAll } from './verify';

/**
 * Runbook step 2: copy every record from memory into Postgres (instance × month units,
 * `parallelism` lanes, each chunk an idempotent, checkpointed activity), then verify.
 * Nothing to undo: the rows copied are the rows memory holds, and dual-write goes on; when
 * either cannot complete, the run rolls back to the mode it started in. A long backfill hands
 * over to the next run between chunks (bounded histories): the units left and their cursors
 * are carried in `run.locals.backfill`.
 */
export async function backfillAndVerify(run: ProductionRun): Promise<void> {
  try {
    const work = await run.ctl.phase('backfill', async () => {
      const w = run.locals.backfill ?? planned(await scan.planBackfill({ apps: run.appsRef, instances: run.instances }));
      run.locals.backfill = w;
      await copyUnits(run, w, false, () => checkpoint(run, 'backfill'));
      return w;
    });
    run.locals.backfill = undefined;
    await run.ctl.phase('verify', () => verifyAll(run, work.months, true));
  } catch (err) {
    // The runbook's rollback when they cannot complete: back to the starting mode.
    if (run.ctl.isAbort(err) || isHandOver(err)) throw err;
    throw new RollbackRequested('backfill-or-verify-incomplete', failureMessage(err));
  }
}

/** The runbook's BACKFILL_DRY_RUN: plan and count every unit, write nothing. */
export async function dryRunBackfill(run: ProductionRun): Promise<void> {
  await run.ctl.phase('backfill (dry run)', async () => {
    const w = run.locals.backfill ?? planned(await scan.planBackfill({ apps: run.appsRef, instances: run.instances }));
    run.locals.backfill = w;
    await copyUnits(run, w, true, () => checkpoint(run, 'backfill'));
  });
  run.locals.backfill = undefined;
  run.result.outcome = 'dry-run';
}

/** A fresh plan as work: every unit from its start. */
export function planned(p: { units: (BackfillUnit & { count: number })[]; months: { month: string; from: string; to: string }[] }): BackfillWork {
  return { months: p.months, pending: p.units.map((unit) => ({ unit, cursor: null })), total: p.units.reduce((a, u) => a + u.count, 0), units: p.units.length, elapsedMs: 0 };
}

/**
 * Copies `work.pending` in lanes, adding each chunk's counts to the result and the progress.
 * `safePoint` (optional) runs once every lane stopped at a chunk boundary when the history
 * budget is reached: `work` then holds exactly what is left (a hand-over carries it).
 */
export async function copyUnits(run: ProductionRun, work: BackfillWork, dryRun: boolean, safePoint?: () => Promise<void>): Promise<void> {
  const { input, ctl } = run;
  const b = run.result.backfill;
  const total = work.total;
  const t0 = Date.now() - work.elapsedMs;
  const queue = [...work.pending];
  const left: BackfillWork['pending'] = [];
  let stopping = false;
  b.units = work.units;
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
    for (let item = queue.shift(); item; item = queue.shift()) {
      const { unit } = item;
      let cursor = item.cursor;
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
          // Only when set: the activity input of a run without the throttle is as before.
          ...(input.backfill.maxReplicaLagMs || input.backfill.maxSlotRetainedWalBytes
            ? { replicaLag: { maxReplicaLagMs: input.backfill.maxReplicaLagMs, maxSlotRetainedWalBytes: input.backfill.maxSlotRetainedWalBytes } }
            : {}),
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
        // A chunk boundary: the lane stops here when the run is about to hand over.
        if (safePoint && (stopping || (stopping = handOverDue(input.history)))) {
          left.push({ unit, cursor });
          return;
        }
      }
      if (safePoint && (stopping || (stopping = handOverDue(input.history)))) return;
    }
  };
  for (;;) {
    await Promise.all(Array.from({ length: Math.min(input.backfill.parallelism, Math.max(1, queue.length)) }, lane));
    if (!stopping || !safePoint) break;
    work.pending = [...left.splice(0), ...queue.splice(0)];
    work.elapsedMs = Date.now() - t0;
    if (!work.pending.length) break;
    await safePoint(); // hands over (throws); returns only when it did not (an abort is pending)
    stopping = false;
    queue.push(...work.pending);
  }
  work.pending = [];
  ctl.note(`backfill${dryRun ? ' (dry run)' : ''}: ${b.rows} rows in ${formatDuration(b.seconds)}`);
}
