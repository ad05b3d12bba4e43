import { afterAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { createGenericConversionActivities, type GenericInput, type GenericParityResult } from '../../../activities/conversion/generic/activities';
import type { RangeParityCheckpoint } from '../../../activities/conversion/generic/range-parity';
import { wholeParity } from '../../../activities/conversion/generic/execute';
import { createProfileResolver } from '../../../src/config/profiles';
import { readTableDescriptor, parseTableName } from '../../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './shapes';

/**
 * Issue 25, item 4: parity at any size. Per key range, each range in its own short snapshot; a
 * range that differs is repaired from the heap's current state and compared again; the
 * checkpoint (with %, rows/s, ETA) is heartbeated after every range and a retry resumes from it.
 */
const db = useTestDatabase('heap'); // the run registry (cutover_runs) the preflight writes
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let profiles: ReturnType<typeof createProfileResolver> | undefined;
afterAll(async () => profiles?.close());

describe('generic parity per key range, with repair', () => {
  it('finds a shadow damaged under load (rows missing, stale, extra), repairs only its ranges from the heap, resumes from a heartbeat; after the swap the oracle is at zero', async () => {
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
    const load = await startSqlLoad({ url: appUrl(), table: 'zoo.tickets', ratePerSec: 80, seed: 25, baseline, spreadDays: 30 });
    try {
      const plan = await acts.planGenericConversion({ ...io, runId: 'ranges', workflowId: 'ranges' });
      // Preflight's facts, carried: no later activity re-scans to plan.
      io.facts = plan.facts;
      expect(io.facts?.rows).toBeGreaterThanOrEqual(400);
      await acts.createGenericShadow(io);
      await acts.installGenericSync(io);
      await new MockActivityEnvironment().run(acts.copyGeneric, { ...io, batchSize: 100 });
      const shadow = plan.names.shadow;
      // The damage a lost or wrong write would leave: 5 rows missing, 1 stale, 1 the heap never had (all far from the load's new rows).
      await db.pool.query(`DELETE FROM ${shadow} WHERE id IN (11, 12, 13, 250, 251)`);
      await db.pool.query(`UPDATE ${shadow} SET who = 'stale' WHERE id = 120`);
      await db.pool.query(`INSERT INTO ${shadow} (id, at, who) SELECT 1000000, at, 'never in the heap' FROM ${shadow} WHERE id = 300`);
      const damaged = await db.withClient((c) => wholeParity(c, plan.table, shadow));
      expect(damaged.b).not.toEqual(damaged.a);

      const beats: RangeParityCheckpoint[] = [];
      const watched = new MockActivityEnvironment();
      watched.on('heartbeat', (d: unknown) => beats.push(d as RangeParityCheckpoint));
      const r = (await watched.run(acts.genericParity, { ...io, rangeRows: 40 })) as GenericParityResult;
      expect(r.differing).toEqual([]);
      expect(r.match).toBe(true);
      expect(r.ranges).toBeGreaterThan(5);
      // Only the damaged keys were re-copied (a write of the load during the scan may add one it raced with, never fewer).
      expect(r.repaired).toBeGreaterThanOrEqual(7);
      expect(r.repaired).toBeLessThan(40);
      expect(beats.length).toBeGreaterThanOrEqual(r.ranges);
      expect(beats[beats.length - 1].progress).toMatchObject({ percent: 100 });
      expect(beats[1].progress.percent).toBeLessThan(100);
      expect(typeof beats[1].progress.rowsPerSecond).toBe('number');
      const repairedNow = await db.withClient((c) => wholeParity(c, plan.table, shadow));
      expect(repairedNow.b).toEqual(repairedNow.a);

      // A retry after a crash resumes at the heartbeated range (the third) and counts the ranges before it once.
      const resumed = (await new MockActivityEnvironment({ heartbeatDetails: beats[2] }).run(acts.genericParity, { ...io, rangeRows: 40 })) as GenericParityResult;
      expect(resumed.match).toBe(true);
      expect(resumed.ranges).toBeGreaterThan(beats[2].ranges);
      expect(Number(resumed.table.count)).toBeGreaterThanOrEqual(Number(beats[2].table.count));

      // Cancelled (an abort) after its first range: parity stops at the next range instead of scanning on to the end.
      const cancelled = new MockActivityEnvironment();
      let heartbeats = 0;
      cancelled.on('heartbeat', () => {
        if (++heartbeats === 1) cancelled.cancel();
      });
      await expect(cancelled.run(acts.genericParity, { ...io, rangeRows: 40 })).rejects.toBeInstanceOf(CancelledFailure);
      expect(heartbeats).toBe(1);

      // In slices (the workflow's path): each call ends after its first range and returns the checkpoint the next continues from.
      let slice: GenericParityResult | undefined;
      let calls = 0;
      do {
        slice = (await new MockActivityEnvironment().run(acts.genericParity, { ...io, rangeRows: 40, sliceSeconds: 0, from: slice?.checkpoint })) as GenericParityResult;
        calls++;
        if (!slice.done) expect(slice.checkpoint.ranges).toBe(calls);
      } while (!slice.done && calls < 1000);
      expect(slice.done).toBe(true);
      expect(calls).toBe(slice.ranges);
      expect(slice.match).toBe(true);
      expect(slice.progress.percent).toBe(100);

      expect((await acts.swapGeneric(io)).swapped).toBe(true);
      await sleep(500);
    } finally {
      await load.stop();
    }
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(20);
    const v = await judgeRows(db.pool, '"zoo"."tickets"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });
});
