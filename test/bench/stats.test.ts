import { describe, expect, it } from 'vitest';
import { activitySpan, msUntilActivityDone, netWalBytes, quantile, writesIn } from '../../bench/stats';
import { parseBenchArgs } from '../../bench/options';

type History = Parameters<typeof msUntilActivityDone>[0];

const at = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

describe('bench calculations (bench/stats.ts)', () => {
  it('quantile: nearest rank, order-independent; 0 for no sample; q outside (0, 1] refused', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    expect(quantile(xs, 0.99)).toBe(99);
    expect(quantile(xs, 0.5)).toBe(50);
    expect(quantile(xs, 1)).toBe(100);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile([], 0.99)).toBe(0);
    expect(() => quantile([1], 0)).toThrow(/q must be in/);
    expect(() => quantile([1], 1.5)).toThrow(/q must be in/);
  });

  it('msUntilActivityDone: first event → completion of the named activity (its scheduled event gives the type), not of another', () => {
    const events = [
      { eventId: 1, eventTime: at(10_000) },
      { eventId: 5, eventTime: at(10_100), activityTaskScheduledEventAttributes: { activityType: { name: 'attachPrepare' } } },
      { eventId: 7, eventTime: at(12_000), activityTaskCompletedEventAttributes: { scheduledEventId: 5 } },
      { eventId: 9, eventTime: at(12_050), activityTaskScheduledEventAttributes: { activityType: { name: 'attachSwap' } } },
      { eventId: 11, eventTime: at(12_345), activityTaskCompletedEventAttributes: { scheduledEventId: 9 } },
      { eventId: 13, eventTime: at(13_000), activityTaskScheduledEventAttributes: { activityType: { name: 'attachSwap' } } },
      { eventId: 15, eventTime: at(14_000), activityTaskCompletedEventAttributes: { scheduledEventId: 13 } },
    ] as unknown as History; // ids and seconds are Long in the proto type; the history's JSON form has numbers
    expect(msUntilActivityDone(events, 'attachSwap')).toBe(2345);
    expect(msUntilActivityDone(events, 'attachPrepare')).toBe(2000);
    expect(msUntilActivityDone(events, 'swapGeneric')).toBeUndefined();
    // Scheduled but never completed: no figure.
    expect(msUntilActivityDone(events.slice(0, 4), 'attachSwap')).toBeUndefined();
    // The span: from the activity's ActivityTaskStarted (when present) to its completion, epoch ms.
    const withStart = [...events.slice(0, 4), { eventId: 10, eventTime: at(12_100), activityTaskStartedEventAttributes: { scheduledEventId: 9 } }, ...events.slice(4)] as unknown as History;
    expect(activitySpan(withStart, 'attachSwap')).toEqual([12_100, 12_345]);
    expect(activitySpan(events, 'attachSwap')).toEqual([12_345, 12_345]);
    expect(activitySpan(events, 'swapGeneric')).toBeUndefined();
  });

  it("netWalBytes: the run's WAL minus the writer's rate × seconds, never negative", () => {
    expect(netWalBytes(10_000_000, 100_000, 20)).toBe(8_000_000);
    expect(netWalBytes(1_000_000, 100_000, 20)).toBe(0);
    expect(netWalBytes(5_000, 0, 3)).toBe(5_000);
  });

  it('--with-10m adds 10M rows to the conversion sizes only; without it they are the B1/B3 sizes', () => {
    expect(parseBenchArgs([])).toMatchObject({ sizes: [100_000, 1_000_000], conversionSizes: [100_000, 1_000_000] });
    expect(parseBenchArgs(['--with-10m'])).toMatchObject({ sizes: [100_000, 1_000_000], conversionSizes: [100_000, 1_000_000, 10_000_000] });
    expect(parseBenchArgs(['--sizes', '1M', '--with-10m'])).toMatchObject({ sizes: [1_000_000], conversionSizes: [1_000_000, 10_000_000] });
    expect(parseBenchArgs(['--sizes', '10M', '--with-10m']).conversionSizes).toEqual([10_000_000]);
    expect(parseBenchArgs(['--only', 'b8,B9']).only).toEqual(new Set(['B8', 'B9']));
  });
});

describe('writesIn (bench/stats.ts)', () => {
  it('counts the writes overlapping the window (also those begun before or ended after it), their failures and the longest', () => {
    const samples = [
      { start: 0, end: 5, ok: true }, // before
      { start: 8, end: 12, ok: true }, // begun before, ends inside
      { start: 15, end: 140, ok: false }, // inside, the longest, failed
      { start: 190, end: 230, ok: true }, // ends after
      { start: 250, end: 251, ok: true }, // after
    ];
    expect(writesIn(samples, 10, 200)).toEqual({ maxMs: 125, writes: 3, failed: 1 });
    expect(writesIn(samples, 300, 400)).toEqual({ maxMs: 0, writes: 0, failed: 0 });
  });
});
