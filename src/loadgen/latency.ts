/**
 * Request durations of a load run. Samples are kept exactly (8 bytes each: an hour at 300 ops/s
 * is ~8 MB) so percentiles are exact, not bucket estimates.
 */
export class LatencyRecorder {
  private samples: number[] = [];
  private sorted = true;
  private maxMs = 0;

  add(ms: number): void {
    this.samples.push(ms);
    this.sorted = false;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  get count(): number {
    return this.samples.length;
  }

  /** The longest single request so far (the "stall" a swap inflicts on a client). */
  get max(): number {
    return this.maxMs;
  }

  /** Nearest-rank percentile, p in (0, 100]; 0 when there are no samples. */
  percentile(p: number): number {
    if (this.samples.length === 0) return 0;
    if (!this.sorted) {
      this.samples.sort((a, b) => a - b);
      this.sorted = true;
    }
    const rank = Math.ceil((p / 100) * this.samples.length);
    return this.samples[Math.min(this.samples.length, Math.max(1, rank)) - 1];
  }
}
