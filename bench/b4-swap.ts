import type { RunningPostgres } from '../src/devenv/postgres';
import { createConversionActivities } from '../activities/conversion';
import type { SwapResult } from '../activities/conversion/swap';
import type { LockRetryOptions } from '../activities/conversion/locks';
import { benchDatabase, runActivity } from './env';
import { seedTable } from './data';
import { prepareShadow, runOurCopy } from './b2-copy';
import { PacedWriter } from './writer';

/** The conversion workflow's default lock settings (workflows/conversion-input.ts). */
export const DEFAULT_LOCK: LockRetryOptions = { lockTimeoutMs: 200, maxTries: 10, backoffMs: 100, maxBackoffMs: 5000 };

export interface SwapTrial {
  stallMs: number;
  writesDuring: number;
  failedDuring: number;
  lockHoldMs: number | null;
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
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One table size: a heap of `rows` rows converted up to the swap (shadow, sync trigger, copy),
 * then a steady write load of `rate` writes/s, and `trials` swaps through our swapTables
 * activity (between trials: swapBack and the sync trigger again, so the next swap starts from
 * the same state). The stall is the longest write overlapping the swap activity.
 */
export async function swapAtSize(pg: RunningPostgres, rows: number, rate: number, trials: number): Promise<SwapAtSize> {
  const db = await benchDatabase(pg, 'heap', 'b4');
  const writer = new PacedWriter(db.url, rate);
  try {
    await seedTable(db.pool, 'memory_records', rows, 6);
    await prepareShadow(db.profiles, 6);
    const acts = createConversionActivities({ profiles: db.profiles });
    await runActivity(acts.installForwardSync, { profile: 'default', lock: DEFAULT_LOCK });
    await runOurCopy(db.profiles);
    writer.start();
    await sleep(1500);
    const out: SwapTrial[] = [];
    for (let k = 0; k < trials; k++) {
      const base = writer.window(performance.now() - 1000, performance.now());
      const lat = writer.samples.filter((s) => s.end > performance.now() - 1000).map((s) => s.end - s.start).sort((a, b) => a - b);
      const from = performance.now();
      const r: SwapResult = await runActivity(acts.swapTables, { profile: 'default', lock: DEFAULT_LOCK });
      const to = performance.now();
      if (r.alreadySwapped) throw new Error('B4: the table was already swapped');
      await sleep(600); // writes issued during the swap finish
      const w = writer.window(from, to);
      out.push({
        stallMs: w.maxMs, writesDuring: w.writes, failedDuring: w.failed, lockHoldMs: r.lockHoldMs, transactionMs: r.transactionMs, tries: r.tries,
        baselineP50Ms: lat.length ? lat[Math.floor(lat.length / 2)] : base.maxMs,
      });
      if (k < trials - 1) {
        await runActivity(acts.swapBack, { profile: 'default', lock: DEFAULT_LOCK });
        await runActivity(acts.installForwardSync, { profile: 'default', lock: DEFAULT_LOCK });
        await sleep(800);
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
    };
  } finally {
    await writer.stop().catch(() => undefined);
    await db.drop();
  }
}
