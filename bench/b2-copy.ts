import type { Pool } from 'pg';
import { createConversionActivities } from '../activities/conversion';
import { START_CURSOR, type CopySliceResult } from '../activities/conversion/copy';
import { HEAP, SELECT_COLUMNS, SHADOW } from '../activities/conversion/sql';
import type { ProfileResolver } from '../src/config/profiles';
import { runActivity, rowsPerSecond, timed } from './env';
import { recentMonths } from './data';

/** The conversion workflow's default batch size (workflows/conversion-input.ts). */
export { DEFAULT_COPY_BATCH } from '../workflows/conversion-input';
import { DEFAULT_COPY_BATCH } from '../workflows/conversion-input';

/** The shadow with a partition for every month of the heap (what the workflow does before copying). */
export async function prepareShadow(profiles: ProfileResolver, months: number) {
  const acts = createConversionActivities({ profiles });
  await runActivity(acts.createShadow, { profile: 'default', months: recentMonths(months), premakeMonths: 2 });
  return runActivity(acts.copyUpperBound, { profile: 'default' });
}

/** Our batched, resumable copy heap → shadow, slice after slice, unthrottled (the workflow's loop). */
export async function runOurCopy(profiles: ProfileResolver, batchSize = DEFAULT_COPY_BATCH): Promise<{ rows: number; ms: number; batches: number }> {
  const acts = createConversionActivities({ profiles });
  const { upperBound } = await runActivity(acts.copyUpperBound, { profile: 'default' });
  const t0 = performance.now();
  let cursor = START_CURSOR;
  let rows = 0;
  let batches = 0;
  for (;;) {
    const r: CopySliceResult = await runActivity(acts.copyHeapSlice, {
      profile: 'default', cursor, upperBound, batchSize, maxRowsPerSecond: 0, pauseMsBetweenBatches: 0, sliceSeconds: 30,
    });
    rows += r.rowsScanned;
    batches += r.batches;
    cursor = r.cursor;
    if (r.done) break;
  }
  return { rows, ms: performance.now() - t0, batches };
}

/** The limit: one INSERT … SELECT of the whole heap into the (empty) shadow. */
export async function insertSelect(pool: Pool): Promise<{ rows: number; ms: number }> {
  const { result, ms } = await timed(() => pool.query(`INSERT INTO ${SHADOW} (${SELECT_COLUMNS}) SELECT ${SELECT_COLUMNS} FROM ${HEAP}`));
  return { rows: result.rowCount ?? 0, ms };
}

export async function emptyShadow(pool: Pool): Promise<void> {
  await pool.query(`TRUNCATE ${SHADOW}`);
  await pool.query(`VACUUM ANALYZE ${HEAP}`);
}

export interface B2Figures {
  rows: number;
  oursRowsPerSec: number;
  limitRowsPerSec: number;
  limitRuns: number[];
  batches: number;
}

/**
 * B2 on one database holding the seeded heap: INSERT … SELECT, ours, INSERT … SELECT again
 * (the shadow emptied between runs); the reference is the better of the two limit runs, so
 * neither side profits from running second.
 */
export async function measureB2(pool: Pool, profiles: ProfileResolver, expectedRows: number): Promise<B2Figures> {
  const first = await insertSelect(pool);
  await emptyShadow(pool);
  const ours = await runOurCopy(profiles);
  const copied = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${SHADOW}`);
  if (ours.rows !== expectedRows || Number(copied.rows[0].n) !== expectedRows) {
    throw new Error(`B2: our copy scanned ${ours.rows} rows and the shadow holds ${copied.rows[0].n}; the heap holds ${expectedRows}`);
  }
  await emptyShadow(pool);
  const second = await insertSelect(pool);
  for (const r of [first, second]) if (r.rows !== expectedRows) throw new Error(`B2: INSERT … SELECT copied ${r.rows} rows, expected ${expectedRows}`);
  const limits = [first, second].map((r) => rowsPerSecond(r.rows, r.ms));
  return { rows: expectedRows, oursRowsPerSec: rowsPerSecond(ours.rows, ours.ms), limitRowsPerSec: Math.max(...limits), limitRuns: limits, batches: ours.batches };
}
