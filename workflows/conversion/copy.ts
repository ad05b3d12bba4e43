import type { RecordCursor } from '../../activities/conversion';
import { handOverDue } from '../common/continuation';
import { conversionCheckpoint } from './continuation-state';
import { copyActs, short, type ConversionRun } from './run';

/**
 * Runbook conversion step 3: copy the heap into the shadow up to the bound taken at the start
 * (later rows arrive by the sync), in slices that heartbeat a resumable cursor. Nothing to
 * undo beyond the shadow's own undo. A long copy hands over to the next run between slices
 * (bounded histories): the bound and the cursor are carried in `run.locals.copy`.
 */
export async function copyHeap(run: ConversionRun, heapRows: number): Promise<void> {
  const { ctl, s, profile, summary } = run;
  await ctl.phase('copy', async () => {
    const at = run.locals.copy ?? { upperBound: (await short.copyUpperBound({ profile })).upperBound, cursor: START, elapsedMs: 0 };
    run.locals.copy = at;
    const acts = copyActs(s);
    const t0 = Date.now() - at.elapsedMs;
    for (;;) {
      const r = await acts.copyHeapSlice({ profile, cursor: at.cursor, upperBound: at.upperBound, ...s.copy });
      summary.copy.slices++;
      summary.copy.rows += r.rowsScanned;
      summary.copy.batches += r.batches;
      if (r.resumedFrom) summary.copy.resumes.push(r.resumedFrom);
      at.cursor = r.cursor;
      const secs = Math.max(1, (Date.now() - t0) / 1000);
      const rate = summary.copy.rows / secs;
      const total = Math.max(heapRows, summary.copy.rows);
      ctl.setProgress({ done: summary.copy.rows, total, unit: 'rows', ratePerSec: rate, etaSeconds: rate > 0 ? (total - summary.copy.rows) / rate : undefined });
      if (r.done) break;
      // Between two slices: a safe point to hand over at.
      if (handOverDue(s.history)) {
        at.elapsedMs = Date.now() - t0;
        await conversionCheckpoint(run, 'copy');
      }
    }
    summary.copy.ms = Date.now() - t0;
  });
  run.locals.copy = undefined;
}

const START: RecordCursor = { createdAt: '-infinity', id: '00000000-0000-0000-0000-000000000000' };
