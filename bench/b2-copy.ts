import { createConversionActivities } from '../activities/conversion';
import { START_CURSOR, type CopySliceResult } from '../activities/conversion/copy';
import type { ProfileResolver } from '../src/config/profiles';
import { runActivity } from './env';
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
