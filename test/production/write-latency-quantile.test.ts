import { describe, expect, it } from 'vitest';
import { ServiceMetrics } from '../../src/memory-layer/metrics';
import { histogramBuckets, parsePrometheus, quantileBetween } from '../../activities/lib/prom';
import { WRITE_LATENCY_METRIC } from '../../activities/lib/throttle';

/** The app's real /metrics text, parsed the way the health check and the throttle read it. */
async function buckets(m: ServiceMetrics): Promise<Map<number, number>> {
  return histogramBuckets(parsePrometheus(await m.text()), WRITE_LATENCY_METRIC);
}

describe('write p99 between two snapshots of the app histogram', () => {
  it('interpolates inside the bucket, so a slowdown inside one bucket still moves the p99', async () => {
    const m = new ServiceMetrics();
    const start = await buckets(m);
    for (let i = 0; i < 100; i++) m.latency.observe({ store: 'postgres', op: 'update' }, 0.3);
    const fast = await buckets(m);
    // 100 writes in (0.25, 0.5]: the 99th lies 99% of the way through the bucket
    expect(quantileBetween(start, fast, 0.99).value).toBeCloseTo(0.25 + 0.25 * 0.99, 6);
    for (let i = 0; i < 100; i++) m.latency.observe({ store: 'postgres', op: 'update' }, 0.6);
    const slow = await buckets(m);
    // only the second batch counts between these snapshots
    const q = quantileBetween(fast, slow, 0.99);
    expect(q.count).toBe(100);
    expect(q.value).toBeCloseTo(0.5 + 0.5 * 0.99, 6);
  });

  it('sums the label sets, counts only what happened between the snapshots, and says when nothing did', async () => {
    const m = new ServiceMetrics();
    for (let i = 0; i < 1000; i++) m.latency.observe({ store: 'memory', op: 'create' }, 0.0002);
    const a = await buckets(m);
    expect(quantileBetween(a, a, 0.99)).toEqual({ value: undefined, count: 0 });
    for (let i = 0; i < 98; i++) m.latency.observe({ store: 'memory', op: 'create' }, 0.0002);
    for (let i = 0; i < 2; i++) m.latency.observe({ store: 'postgres', op: 'create' }, 4);
    const b = await buckets(m);
    const q = quantileBetween(a, b, 0.99);
    expect(q.count).toBe(100);
    expect(q.value).toBeGreaterThan(2.5);
    expect(q.value).toBeLessThanOrEqual(5);
  });

  it('reports Infinity when the quantile lies above the largest bound', async () => {
    const m = new ServiceMetrics();
    const a = await buckets(m);
    for (let i = 0; i < 10; i++) m.latency.observe({ store: 'postgres', op: 'delete' }, 30);
    expect(quantileBetween(a, await buckets(m), 0.99).value).toBe(Infinity);
  });
});
