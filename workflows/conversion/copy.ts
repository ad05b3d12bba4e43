import type { RecordCursor } from '../../activities/conversion';
import { copyActs, short, type ConversionRun } from './run';

/**
 * Runbook conversion step 3: copy the heap into the shadow up to the bound taken at the start
 * (later rows arrive by the sync), in slices that heartbeat a resumable cursor. Nothing to
 * undo beyond the shadow's own undo.
 */
export async function copyHeap(run: ConversionRun, heapRows: number): Promise<void> {
  const { ctl, s, profile, summary } = run;
  await ctl.phase('copy', async () => {
    const { upperBound } = await short.copyUpperBound({ profile });
    const acts = copyActs(s);
    let cursor: RecordCursor = { createdAt: '-infinity', id: '00000000-0000-0000-0000-000000000000' };
    const t0 = Date.now();
    for (;;) {
      const r = await acts.copyHeapSlice({ profile, cursor, upperBound, ...s.copy });
      summary.copy.slices++;
      summary.copy.rows += r.rowsScanned;
      summary.copy.batches += r.batches;
      if (r.resumedFrom) summary.copy.resumes.push(r.resumedFrom);
      cursor = r.cursor;
      const secs = Math.max(1, (Date.now() - t0) / 1000);
      const rate = summary.copy.rows / secs;
      const total = Math.max(heapRows, summary.copy.rows);
      ctl.setProgress({ done: summary.copy.rows, total, unit: 'rows', ratePerSec: rate, etaSeconds: rate > 0 ? (total - summary.copy.rows) / rate : undefined });
      if (r.done) break;
    }
    summary.copy.ms = Date.now() - t0;
  });
}
