import type { RunningPostgres } from '../src/devenv/postgres';
import { createConversionActivities } from '../activities/conversion';
import { benchDatabase, runActivity } from './env';
import { seedTable } from './data';
import { appRole } from './app-role';
import { genericInput, preflight, shadowAndSync } from './generic';
import { median } from './b5-dual-write';
import { quantile } from './stats';
import { PacedWriter } from './writer';

export interface TriggerRound {
  trigger: boolean;
  p50Ms: number;
  p99Ms: number;
  writes: number;
  failed: number;
}

export interface B9Figures {
  rows: number;
  /** Median over the rounds of each side. */
  withP99Ms: number;
  withoutP99Ms: number;
  withP50Ms: number;
  withoutP50Ms: number;
  rounds: TriggerRound[];
  failedWrites: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * B9: the app's write latency (single-row INSERT/UPDATE 1:1 as an unprivileged role, `rate`/s,
 * open loop) on a heap of `rows` rows without and with the conversion's forward sync trigger,
 * installed and removed by the engine's own activities (createGenericShadow + installGenericSync;
 * rollbackGenericBeforeSwap), in interleaved rounds of `seconds` each: without, with, without,
 * with, … (`pairs` pairs). Each side's figure is the median of its rounds' p99.
 */
export async function measureB9(pg: RunningPostgres, rows: number, rate: number, seconds: number, pairs = 3): Promise<B9Figures> {
  const db = await benchDatabase(pg, 'heap', 'b9');
  let writer: PacedWriter | undefined;
  try {
    await seedTable(db.pool, 'memory_records', rows, 6);
    const url = await appRole(db.pool, db.url, 'memory_records');
    const { io } = await preflight(db.profiles, genericInput('copy'));
    const acts = createConversionActivities({ profiles: db.profiles });
    writer = new PacedWriter(url, rate);
    writer.start();
    await sleep(1000);
    const rounds: TriggerRound[] = [];
    const round = async (trigger: boolean) => {
      await sleep(500); // the installation's or removal's own transaction is behind us
      const from = performance.now();
      await sleep(seconds * 1000);
      const to = performance.now();
      await sleep(300);
      const lat = writer!.samples.filter((s) => s.start >= from && s.start <= to).map((s) => s.end - s.start);
      const failed = writer!.samples.filter((s) => s.start >= from && s.start <= to && !s.ok).length;
      rounds.push({ trigger, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99), writes: lat.length, failed });
    };
    for (let k = 0; k < pairs; k++) {
      await round(false);
      await shadowAndSync(db.profiles, io);
      await round(true);
      const r = await runActivity(acts.rollbackGenericBeforeSwap, io);
      if (r.kept) throw new Error(`B9: the rollback kept ${r.kept.table} aside (the shadow held a row the heap lacks)`);
    }
    const side = (t: boolean) => rounds.filter((r) => r.trigger === t);
    return {
      rows,
      withP99Ms: median(side(true).map((r) => r.p99Ms)),
      withoutP99Ms: median(side(false).map((r) => r.p99Ms)),
      withP50Ms: median(side(true).map((r) => r.p50Ms)),
      withoutP50Ms: median(side(false).map((r) => r.p50Ms)),
      rounds,
      failedWrites: writer.failures().length,
    };
  } finally {
    await writer?.stop();
    await db.drop();
  }
}
