import { afterAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { createGenericConversionActivities, type GenericInput, type PostSwapParityResult } from '../../../activities/conversion/generic/activities';
import type { RangeParityCheckpoint } from '../../../activities/conversion/generic/range-parity';
import { createProfileResolver } from '../../../src/config/profiles';
import { readTableDescriptor, parseTableName } from '../../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './shapes';

/**
 * Issue 25, item 4 (after the swap): the post-swap and retention check compares the partitioned
 * table with the old heap per key range, each range in its own short snapshot, heartbeating its
 * checkpoint (%, rows/s, ETA); a differing range is named with both counts and never repaired; a
 * retry resumes from the heartbeated range; in slices like the parity before the swap.
 */
const db = useTestDatabase('heap');
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let profiles: ReturnType<typeof createProfileResolver> | undefined;
afterAll(async () => profiles?.close());

/** The first range's report: `(] .. (<upper>]: <table> <n> rows, <old> <m>`. */
const FIRST_RANGE = /^\(\] \.\. \((\d+)\]: "zoo"\."tickets" (\d+) rows, "zoo"\."tickets_old" (\d+)$/;

describe('generic post-swap check per key range', () => {
  it('compares per range under load, names the one range that differs (no repair), resumes from its heartbeated range, runs in slices; the oracle is at zero', async () => {
    await db.pool.query(APP_ROLE_SQL(app));
    await db.pool.query(`CREATE SCHEMA zoo; GRANT USAGE ON SCHEMA zoo TO ${app};
      CREATE TABLE zoo.tickets (id bigserial PRIMARY KEY, at timestamptz NOT NULL, who text);
      INSERT INTO zoo.tickets (at, who) SELECT now() - g * interval '3 hours', 'w' || g FROM generate_series(1, 400) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON zoo.tickets TO ${app}; GRANT USAGE ON SEQUENCE zoo.tickets_id_seq TO ${app};`);
    profiles = createProfileResolver({ default: db.url });
    const acts = createGenericConversionActivities({ profiles });
    const io: GenericInput = { profile: 'default', choice: parseConversionChoice({ table: 'zoo.tickets', partitionBy: { column: 'at', interval: 'month' } }), planAt: Date.now(), lockTimeoutMs: 500 };
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName('zoo.tickets')))));
    const baseline = await readImages(db.pool, '"zoo"."tickets"', key);
    const load = await startSqlLoad({ url: appUrl(), table: 'zoo.tickets', ratePerSec: 80, seed: 26, baseline, spreadDays: 30 });
    try {
      const plan = await acts.planGenericConversion({ ...io, runId: 'post-ranges', workflowId: 'post-ranges' });
      io.facts = plan.facts;
      await acts.createGenericShadow(io);
      await acts.installGenericSync(io);
      await new MockActivityEnvironment().run(acts.copyGeneric, { ...io, batchSize: 100 });
      expect(((await new MockActivityEnvironment().run(acts.genericParity, io)) as { match: boolean }).match).toBe(true);
      const post = await acts.genericPostSwapStatements(io);
      expect(post.ranges?.keyLength).toBe(1);
      expect((await acts.swapGeneric(io)).swapped).toBe(true);
      const check = { profile: 'default', post, rangeRows: 40, expectedRows: io.facts?.rows ?? 0 };

      // Equal after the swap (the reverse sync keeps the old heap): range by range, a heartbeat after each.
      const beats: RangeParityCheckpoint[] = [];
      const watched = new MockActivityEnvironment();
      watched.on('heartbeat', (d: unknown) => beats.push(d as RangeParityCheckpoint));
      const clean = (await watched.run(acts.genericPostSwapParity, check)) as PostSwapParityResult;
      expect(clean).toMatchObject({ done: true, match: true, differing: [] });
      expect(clean.ranges).toBeGreaterThan(5);
      expect(clean.table).toEqual(clean.old);
      expect(beats.length).toBeGreaterThanOrEqual(clean.ranges!);
      expect(beats[1].progress.percent).toBeLessThan(100);
      expect(typeof beats[1].progress.rowsPerSecond).toBe('number');
      expect(beats[beats.length - 1].progress.percent).toBe(100);

      // A write the reverse sync lost: rows of the first range gone from the old heap only.
      await db.pool.query(`DELETE FROM zoo.tickets_old WHERE id IN (11, 12, 13)`);
      const damaged = (await new MockActivityEnvironment().run(acts.genericPostSwapParity, check)) as PostSwapParityResult;
      expect(damaged.done).toBe(true);
      expect(damaged.match).toBe(false);
      // Exactly one range is named, the first (keys up to its upper key, 13 among them), with both counts.
      expect(damaged.differing).toHaveLength(1);
      const m = FIRST_RANGE.exec(damaged.differing![0]);
      expect(m, damaged.differing![0]).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(13);
      expect(Number(m![3])).toBeLessThan(Number(m![2]));
      expect(BigInt(damaged.old.count)).toBeLessThan(BigInt(damaged.table.count));
      // No repair after the swap: the old heap still lacks them.
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM zoo.tickets_old WHERE id IN (11, 12, 13)`)).rows[0].n).toBe(0);

      // A retry resumes at its heartbeated range: from the clean run's third checkpoint, the damaged first range is not read again.
      const resumed = (await new MockActivityEnvironment({ heartbeatDetails: beats[2] }).run(acts.genericPostSwapParity, check)) as PostSwapParityResult;
      expect(resumed).toMatchObject({ done: true, match: true, differing: [] });
      expect(resumed.ranges).toBeGreaterThan(beats[2].ranges);

      // Cancelled (an abort) after its first range: the check stops at the next range.
      const cancelled = new MockActivityEnvironment();
      let heartbeats = 0;
      cancelled.on('heartbeat', () => {
        if (++heartbeats === 1) cancelled.cancel();
      });
      await expect(cancelled.run(acts.genericPostSwapParity, check)).rejects.toBeInstanceOf(CancelledFailure);
      expect(heartbeats).toBe(1);

      // In slices (the workflow's path): one range per call, each continuing from the checkpoint the last returned.
      let slice: PostSwapParityResult | undefined;
      let calls = 0;
      do {
        slice = (await new MockActivityEnvironment().run(acts.genericPostSwapParity, { ...check, sliceSeconds: 0, from: slice?.checkpoint })) as PostSwapParityResult;
        calls++;
        if (!slice.done) expect(slice.checkpoint!.ranges).toBe(calls);
      } while (!slice.done && calls < 1000);
      expect(slice.done).toBe(true);
      expect(calls).toBe(slice.ranges);
      expect(slice.match).toBe(false);
      expect(slice.differing).toHaveLength(1);
      expect(slice.differing![0]).toMatch(FIRST_RANGE);

      // Many ranges differing (77 rows gone from the old heap, one row per range: each its own differing range, but for
      // those the load deleted meanwhile): 20 named, all counted (a checkpoint stays bounded).
      await db.pool.query(`DELETE FROM zoo.tickets_old WHERE id % 5 = 0 AND id BETWEEN 20 AND 400`);
      const many = (await new MockActivityEnvironment().run(acts.genericPostSwapParity, { ...check, rangeRows: 1 })) as PostSwapParityResult;
      expect(many.match).toBe(false);
      expect(many.differing).toHaveLength(20);
      expect(many.checkpoint!.differing).toHaveLength(20);
      expect(many.differingRanges).toBeGreaterThan(20);

      // A `post` recorded before ranges (a run from an older worker): the whole tables in one snapshot, the difference still seen.
      const { ranges: _ranges, ...older } = post;
      const whole = (await new MockActivityEnvironment().run(acts.genericPostSwapParity, { profile: 'default', post: older })) as PostSwapParityResult;
      expect(whole).toMatchObject({ done: true, match: false });
      expect(whole.differing).toBeUndefined();
      await sleep(500);
    } finally {
      await load.stop();
    }
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(20);
    const v = await judgeRows(db.pool, '"zoo"."tickets"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });
});
