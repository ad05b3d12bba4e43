import type { AdminClient } from './admin-client';
import { histogramBuckets, parsePrometheus, quantileBetween, sumOf } from './prom';

export const WRITE_LATENCY_METRIC = 'memory_write_latency_seconds';
export const DUAL_WRITE_FAILURES_METRIC = 'dual_write_failures_total';

/**
 * Watches one app instance's /metrics (at most every `everyMs`) and says how long a copy
 * should pause: nothing while the app's write p99 stays under the threshold and dual-write
 * does not fail; otherwise an exponential back-off (200 ms doubling to 5 s) until it recovers.
 */
export class AppPressure {
  private last?: { at: number; buckets: Map<number, number>; failures: number };
  private backoff = 0;
  /** Why the last non-zero back-off was asked for. */
  cause: 'write_p99' | 'dual_write_failures' = 'write_p99';

  constructor(
    private readonly client: AdminClient,
    private readonly maxP99Ms: number,
    private readonly everyMs = 2000,
  ) {}

  async backoffMs(): Promise<number> {
    const now = Date.now();
    if (this.last && now - this.last.at < this.everyMs) return this.backoff;
    let text: string;
    try {
      text = await this.client.metricsText();
    } catch {
      return this.backoff; // metrics are advisory; the copy goes on
    }
    const samples = parsePrometheus(text);
    const cur = { at: now, buckets: histogramBuckets(samples, WRITE_LATENCY_METRIC), failures: sumOf(samples, DUAL_WRITE_FAILURES_METRIC) };
    const prev = this.last;
    this.last = cur;
    if (!prev) return 0;
    const p99 = quantileBetween(prev.buckets, cur.buckets, 0.99).value;
    const failing = cur.failures > prev.failures;
    const pressured = failing || (p99 !== undefined && p99 * 1000 > this.maxP99Ms);
    if (pressured) this.cause = failing ? 'dual_write_failures' : 'write_p99';
    this.backoff = pressured ? Math.min(5000, this.backoff ? this.backoff * 2 : 200) : 0;
    return this.backoff;
  }
}
