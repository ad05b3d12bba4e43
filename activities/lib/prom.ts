/**
 * A small reader of Prometheus text exposition, for the app's /metrics: counters and
 * histogram buckets, and a p99 from the difference of two histogram snapshots.
 */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheus(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    const value = m[4] === '+Inf' ? Infinity : Number(m[4]);
    out.push({ name: m[1], labels, value });
  }
  return out;
}

export function sumOf(samples: MetricSample[], name: string, filter: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(filter).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/** Cumulative bucket counts of a histogram, summed over label sets, by upper bound `le`. */
export function histogramBuckets(samples: MetricSample[], name: string): Map<number, number> {
  const b = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    b.set(le, (b.get(le) ?? 0) + s.value);
  }
  return b;
}

/**
 * The q-quantile (seconds) of the observations between two snapshots, interpolated linearly
 * inside the bucket that holds it, as Prometheus' `histogram_quantile` does (the first bucket
 * starts at 0). Observations above the largest finite bound give `Infinity`: "slower than
 * the histogram can tell".
 */
export function quantileBetween(before: Map<number, number>, after: Map<number, number>, q: number): { value: number | undefined; count: number } {
  const les = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return { value: undefined, count: 0 };
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const le of les) {
    const c = (after.get(le) ?? 0) - (before.get(le) ?? 0);
    if (c >= rank) {
      if (le === Infinity) return { value: Infinity, count: total };
      const inBucket = c - below;
      return { value: inBucket > 0 ? lower + ((le - lower) * (rank - below)) / inBucket : le, count: total };
    }
    lower = le;
    below = c;
  }
  return { value: Infinity, count: total };
}
