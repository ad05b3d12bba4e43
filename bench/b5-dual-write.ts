import { startApps } from '../test/helpers/app';
import { startLoad } from '../src/loadgen/generator';
import type { PersistenceMode } from '../workflows/types';
import type { RunningPostgres } from '../src/devenv/postgres';
import { benchDatabase } from './env';

export const B5_MODES: { label: string; mode: PersistenceMode }[] = [
  { label: 'postgres-only', mode: { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false } },
  { label: 'dual-write postgres primary', mode: { persistence: 'dual-write', primary: 'postgres', failFast: false, dualWriteEnabled: true } },
  { label: 'dual-write memory primary', mode: { persistence: 'dual-write', primary: 'memory', failFast: false, dualWriteEnabled: true } },
  { label: 'memory-only', mode: { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: false } },
];

export interface ModeLatency {
  label: string;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  acked: number;
  failed: number;
  rounds?: { p50Ms: number; p99Ms: number }[];
}

/** Rounds per mode; the order alternates (forward, reverse, …) so drift in the machine's load hits every mode alike. */
export const B5_ROUNDS = 4;

/**
 * B5: one app instance per mode (booted in that mode, on the partitioned memory_records), the
 * project's load generator against it at `rate` operations/s (creates, updates, deletes) for
 * `seconds`, after a one-second warm-up whose figures are discarded.
 *
 * Each mode runs B5_ROUNDS rounds, interleaved with the other modes, and reports its median
 * round (p50 and p99 each the median over rounds; every round is in `rounds`). Measured on the
 * shared 2-core machine (issue 17), the p99 of one 4-second round (~1,200 requests: the 12
 * slowest decide it) swings up to 5× between consecutive rounds of the same mode, while round
 * trips per write and CPU per write are equal in Postgres-only and dual-write with Postgres
 * primary; the better of 2 rounds compared two draws of that noise, the median of 4 interleaved
 * rounds compares the modes.
 */
export async function measureB5(pg: RunningPostgres, rate: number, seconds: number): Promise<ModeLatency[]> {
  const db = await benchDatabase(pg, 'partitioned', 'b5');
  const out: ModeLatency[] = [];
  const order = Array.from({ length: B5_ROUNDS }, (_, i) => (i % 2 ? [...B5_MODES].reverse() : B5_MODES)).flat();
  try {
    for (const { label, mode } of order) {
      const apps = await startApps(1, { dbUrl: db.url, bootMode: mode, prefix: 'bench-b5' });
      try {
        const urls = [apps.instances[0].url];
        await startLoad({ instances: urls, ratePerSec: rate, durationMs: 1000, owners: 20 }).done;
        const load = startLoad({ instances: urls, ratePerSec: rate, durationMs: seconds * 1000, owners: 20 });
        await load.done;
        const s = load.stats();
        out.push({ label, p50Ms: s.p50Ms, p99Ms: s.p99Ms, maxMs: s.maxStallMs, acked: s.acked, failed: s.failed });
      } finally {
        await apps.stopAll();
      }
    }
  } finally {
    await db.drop();
  }
  return B5_MODES.map(({ label }) => {
    const rounds = out.filter((m) => m.label === label);
    return {
      label,
      p50Ms: median(rounds.map((r) => r.p50Ms)),
      p99Ms: median(rounds.map((r) => r.p99Ms)),
      maxMs: Math.max(...rounds.map((r) => r.maxMs)),
      acked: rounds.reduce((a, r) => a + r.acked, 0),
      failed: rounds.reduce((a, r) => a + r.failed, 0),
      rounds: rounds.map((r) => ({ p50Ms: r.p50Ms, p99Ms: r.p99Ms })),
    };
  });
}

/** The median (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
