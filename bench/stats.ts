import type { temporal } from '@temporalio/proto';

/** Small pure calculations of the bench's figures (unit-tested in test/bench/stats.test.ts). */

/** The q-quantile (0 < q ≤ 1) of `xs` by the nearest-rank method; 0 for no sample. */
export function quantile(xs: readonly number[], q: number): number {
  if (!(q > 0 && q <= 1)) throw new Error(`quantile: q must be in (0, 1], got ${q}`);
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.ceil(q * sorted.length)) - 1];
}

/** Bytes as MB with one decimal. */
export const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const evMs = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

/**
 * From a workflow history: ms from its first event (the start) to the completion of the first
 * activity of type `activity` (the swap) that completed; undefined when none did.
 */
export function msUntilActivityDone(events: readonly HistoryEvent[], activity: string): number | undefined {
  const types = new Map<number, string>();
  let first: number | undefined;
  for (const e of events) {
    first ??= evMs(e);
    const s = e.activityTaskScheduledEventAttributes;
    if (s) types.set(Number(e.eventId), s.activityType?.name ?? '');
    const done = e.activityTaskCompletedEventAttributes;
    if (done && types.get(Number(done.scheduledEventId)) === activity) return evMs(e) - first;
  }
  return undefined;
}

/**
 * The WAL a conversion wrote, net of the app writer's own: gross bytes between the LSNs before and
 * after, minus the writer's rate measured alone (bytes/s) times the run's seconds; never below 0.
 */
export function netWalBytes(grossBytes: number, writerBytesPerSec: number, seconds: number): number {
  return Math.max(0, Math.round(grossBytes - writerBytesPerSec * seconds));
}

/** The writes that overlapped [from, to] (same clock as the samples): how many, how many failed, the longest. */
export function writesIn(samples: readonly { start: number; end: number; ok: boolean }[], from: number, to: number): { maxMs: number; writes: number; failed: number } {
  let maxMs = 0;
  let writes = 0;
  let failed = 0;
  for (const s of samples) {
    if (s.end < from || s.start > to) continue;
    writes++;
    if (!s.ok) failed++;
    maxMs = Math.max(maxMs, s.end - s.start);
  }
  return { maxMs, writes, failed };
}

/** Epoch ms [started, completed] of the first completed activity of type `activity` in a history; undefined when none completed. */
export function activitySpan(events: readonly HistoryEvent[], activity: string): [number, number] | undefined {
  const types = new Map<number, string>();
  const started = new Map<number, number>();
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) types.set(Number(e.eventId), s.activityType?.name ?? '');
    const st = e.activityTaskStartedEventAttributes;
    if (st) started.set(Number(st.scheduledEventId), evMs(e));
    const done = e.activityTaskCompletedEventAttributes;
    if (done && types.get(Number(done.scheduledEventId)) === activity) return [started.get(Number(done.scheduledEventId)) ?? evMs(e), evMs(e)];
  }
  return undefined;
}
