import type { RunningPostgres } from '../src/devenv/postgres';
import type { ProfileResolver } from '../src/config/profiles';
import { createConversionActivities } from '../activities/conversion';
import type { GenericInput, SwapGenericResult } from '../activities/conversion/generic/activities';
import { benchDatabase, runActivity } from './env';
import { seedTable } from './data';
import { preflight, presetInput, runGenericCopy, shadowAndSync } from './generic';
import { PacedWriter } from './writer';

export interface SwapTrial {
  stallMs: number;
  writesDuring: number;
  failedDuring: number;
  /** swapGeneric's `lockMs`: its LOCK TABLE done to COMMIT acknowledged (null: swapped by an earlier attempt). */
  lockHoldMs: number | null;
  /** swapGeneric's `transactionMs`: BEGIN to COMMIT acknowledged, its lock waits included. */
  transactionMs: number | null;
  tries: number;
  /** Median write latency in the second before the swap (the undisturbed baseline). */
  baselineP50Ms: number;
}

export interface SwapAtSize {
  rows: number;
  trials: SwapTrial[];
  /** The worst trial's stall. */
  stallMs: number;
  failedWrites: number;
  failedExamples: string[];
  /** The swap's lock settings used (the workflow's defaults, `swap.*`). */
  lock: { lockTimeoutMs: number; maxTries: number; backoffMs: number; maxBackoffMs: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The state the swap starts from, as the workflow reaches it (workflows/conversion/generic.ts):
 * the shadow, the change-log sync trigger, the snapshot copy and the log's replay, through the
 * engine's own activities. After a swap back the partitioned table is gone (dropped in the swap
 * back's transaction) and the log with the forward trigger (dropped in the swap), so each trial
 * re-arms the whole way.
 */
async function armForSwap(profiles: ProfileResolver, io: GenericInput): Promise<void> {
  await shadowAndSync(profiles, io);
  await runGenericCopy(profiles, io);
}

/**
 * One table size: a heap of `rows` rows of memory_records' shape, planned with its preset on the
 * one engine (the change-log engine, the workflow's default `swap.*` lock settings), a steady
 * write load of `rate` writes/s, and `trials` swaps through swapGeneric, each from a fresh
 * shadow armed under that load; between trials swapBackGeneric (the saga's swap back after the
 * swap). The stall is the longest write overlapping the swap activity.
 */
export async function swapAtSize(pg: RunningPostgres, rows: number, rate: number, trials: number): Promise<SwapAtSize> {
  const db = await benchDatabase(pg, 'heap', 'b4');
  const writer = new PacedWriter(db.url, rate);
  try {
    await seedTable(db.pool, 'memory_records', rows, 6);
    const { io } = await preflight(db.profiles, presetInput());
    const acts = createConversionActivities({ profiles: db.profiles });
    writer.start();
    const out: SwapTrial[] = [];
    for (let k = 0; k < trials; k++) {
      await armForSwap(db.profiles, io);
      // As the workflow: the statements after the swap are taken from the plan right before it.
      const post = await runActivity(acts.genericPostSwapStatements, io);
      await sleep(1500);
      const base = writer.window(performance.now() - 1000, performance.now());
      const lat = writer.samples.filter((s) => s.end > performance.now() - 1000).map((s) => s.end - s.start).sort((a, b) => a - b);
      const from = performance.now();
      const r: SwapGenericResult = await runActivity(acts.swapGeneric, io);
      const to = performance.now();
      if (!r.swapped) throw new Error('B4: the table was already swapped');
      await sleep(600); // writes issued during the swap finish
      const w = writer.window(from, to);
      out.push({
        stallMs: w.maxMs, writesDuring: w.writes, failedDuring: w.failed, lockHoldMs: r.lockMs, transactionMs: r.transactionMs, tries: r.tries,
        baselineP50Ms: lat.length ? lat[Math.floor(lat.length / 2)] : base.maxMs,
      });
      if (k < trials - 1) {
        const back = await runActivity(acts.swapBackGeneric, { profile: io.profile, post, lockTimeoutMs: io.lockTimeoutMs });
        if (!back.swappedBack || !back.droppedPartitioned) {
          throw new Error(`B4: the swap back ${back.swappedBack ? `kept the partitioned table aside (${back.kept?.table ?? '?'}): it held rows the old table lacks` : 'found the table not swapped'}`);
        }
      }
    }
    await writer.stop();
    const failures = writer.failures();
    return {
      rows,
      trials: out,
      stallMs: Math.max(...out.map((t) => t.stallMs)),
      failedWrites: failures.length,
      failedExamples: [...new Set(failures.map((f) => f.error ?? 'unknown'))].slice(0, 3),
      lock: { lockTimeoutMs: io.lockTimeoutMs, ...io.swapRetry! },
    };
  } finally {
    await writer.stop().catch(() => undefined);
    await db.drop();
  }
}
