import { afterAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
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
 * Issue 25, item 4 (B3b): parity per partition range. Each range is one partition's bound (the
 * shadow's partition read whole, the heap's rows of that bound through its index on the column),
 * the gaps around the partitions (the DEFAULT partition) and the NULL range are ranges too, a
 * partition larger than the budget is compared in sub-ranges of its column; the result names each partition.
 */
const db = useTestDatabase('heap');
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let profiles: ReturnType<typeof createProfileResolver> | undefined;
afterAll(async () => profiles?.close());

describe('generic parity per partition range', () => {
  it('names the damaged partition and the DEFAULT partition, repairs them, splits a large partition into sub-ranges of its column (a checkpoint in key sub-ranges goes on in them), resumes; the oracle is at zero after the swap', async () => {
    await db.pool.query(APP_ROLE_SQL(app));
    // 4 months of history (~120 rows each), the load's writes in the last 10 days.
    await db.pool.query(`CREATE SCHEMA zoo; GRANT USAGE ON SCHEMA zoo TO ${app};
      CREATE TABLE zoo.events (id bigserial PRIMARY KEY, at timestamptz NOT NULL, who text);
      CREATE INDEX events_at ON zoo.events (at);
      INSERT INTO zoo.events (at, who) SELECT date_trunc('month', now()) - interval '4 months' + g * interval '1 day' / 4, 'w' || g FROM generate_series(0, 479) g;
      -- One value held by more rows than a sub-range's budget: its sub-range ends at the next value, never at its own start.
      INSERT INTO zoo.events (at, who) SELECT date_trunc('month', now()) - interval '3 months' + interval '2 days', 'same' || g FROM generate_series(1, 70) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON zoo.events TO ${app}; GRANT USAGE ON SEQUENCE zoo.events_id_seq TO ${app};`);
    profiles = createProfileResolver({ default: db.url });
    const acts = createGenericConversionActivities({ profiles });
    const io: GenericInput = { profile: 'default', choice: parseConversionChoice({ table: 'zoo.events', partitionBy: { column: 'at', interval: 'month' }, options: { defaultPartition: true } }), planAt: Date.now(), lockTimeoutMs: 500 };
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName('zoo.events')))));
    const baseline = await readImages(db.pool, '"zoo"."events"', key);
    const load = await startSqlLoad({ url: appUrl(), table: 'zoo.events', ratePerSec: 60, seed: 27, baseline, spreadDays: 10 });
    try {
      const plan = await acts.planGenericConversion({ ...io, runId: 'parts', workflowId: 'parts' });
      io.facts = plan.facts;
      await acts.createGenericShadow(io);
      await acts.installGenericSync(io);
      await new MockActivityEnvironment().run(acts.copyGeneric, { ...io, batchSize: 200 });
      const shadow = plan.names.shadow;
      const dflt = plan.partitions.default!;
      expect(dflt).toBeTruthy();
      // A heap row beyond every partition (written after the copy, deleted again before the swap): the sync puts it into the DEFAULT partition.
      await db.pool.query(`INSERT INTO zoo.events (at, who) VALUES ('2100-01-15', 'far ahead')`);
      expect((await db.pool.query(`SELECT 1 FROM zoo.${dflt} WHERE who = 'far ahead'`)).rowCount).toBe(1);
      // The damage: 10 rows missing in the oldest month's partition, and a row the heap never had in the DEFAULT partition.
      const oldest = (await db.pool.query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM ${shadow} WHERE id = 5`)).rows[0].p;
      await db.pool.query(`DELETE FROM ${shadow} WHERE id BETWEEN 5 AND 14`);
      await db.pool.query(`INSERT INTO ${shadow} (id, at, who) VALUES (1000000, '1990-01-01', 'never in the heap')`);
      expect((await db.pool.query(`SELECT 1 FROM zoo.${dflt} WHERE id = 1000000`)).rowCount).toBe(1);

      const beats: RangeParityCheckpoint[] = [];
      const watched = new MockActivityEnvironment();
      watched.on('heartbeat', (d: unknown) => beats.push(d as RangeParityCheckpoint));
      // A budget of 50 rows: every month (~120 rows) is compared in sub-ranges of its column within its bound.
      const r = (await watched.run(acts.genericParity, { ...io, rangeRows: 50, ranges: 'partitions' as const })) as GenericParityResult;
      expect(r.match).toBe(true);
      const parts = r.partitions!;
      expect(parts).toBeDefined();
      const byName = (n: string) => parts.filter((x) => x.partition === n.replace(/^.*\./, '').replace(/"/g, ''));
      // The damaged partition is named with its repairs; every other month partition matched without one.
      const [damaged] = byName(oldest);
      expect(damaged, JSON.stringify(parts)).toBeDefined();
      expect(damaged.match).toBe(true);
      expect(damaged.repaired).toBeGreaterThanOrEqual(1);
      const months = parts.filter((x) => x.partition !== damaged.partition && !x.partition.endsWith('_default'));
      expect(months.length).toBeGreaterThanOrEqual(3);
      for (const m of months) expect(m, JSON.stringify(m)).toMatchObject({ match: true });
      // Months before the load's 10 days: no repair (a damaged row the load moved into its days is repaired there).
      const untouched = months.filter((m) => Date.parse(m.bound.split(', ')[1].replace(')', '')) < Date.now() - 11 * 86_400_000);
      expect(untouched.length).toBeGreaterThanOrEqual(2);
      for (const m of untouched) expect(m, JSON.stringify(m)).toMatchObject({ repaired: 0 });
      // Rows outside every bound: compared in the ranges around the partitions, under the DEFAULT partition's name.
      const outside = byName(dflt);
      expect(outside.map((x) => x.bound).join(' ')).toMatch(/-∞/);
      expect(outside.map((x) => x.bound).join(' ')).toMatch(/\+∞/);
      expect(outside.reduce((n, x) => n + x.repaired, 0)).toBe(1); // the row the heap never had, deleted
      expect(outside.reduce((n, x) => n + Number(x.table), 0)).toBeGreaterThanOrEqual(1); // the row at 2100
      // Each month once, its sub-ranges added up; more ranges than partitions; every row counted once.
      expect(new Set(parts.map((x) => `${x.partition} ${x.bound}`)).size).toBe(parts.length);
      expect(r.ranges).toBeGreaterThan(parts.length);
      expect(beats.some((b) => b.part?.within !== undefined)).toBe(true);
      expect(beats.every((b) => !b.part?.key)).toBe(true);
      // The sub-ranges of the column tile each month: every one starts where the last ended (the 70 rows of one value in one of them).
      const starts = beats.map((b) => b.part!).filter((x) => x.within !== undefined);
      expect(new Set(starts.map((x) => `${x.from} ${x.within}`)).size).toBe(starts.length);
      expect(parts.reduce((n, x) => n + Number(x.table), 0)).toBe(r.rows);
      expect(parts.reduce((n, x) => n + Number(x.shadow), 0)).toBe(Number(r.shadow.count));
      expect(beats[beats.length - 1].progress.percent).toBe(100);
      const now = await db.withClient((c) => wholeParity(c, plan.table, shadow));
      expect(now.b).toEqual(now.a);
      expect((await db.pool.query(`SELECT 1 FROM ${shadow} WHERE id = 1000000`)).rowCount).toBe(0);

      // A partition within the budget is one range: with the default budget, one range per partition (and gap) at most.
      const whole = (await new MockActivityEnvironment().run(acts.genericParity, { ...io, ranges: 'partitions' as const })) as GenericParityResult;
      expect(whole.match).toBe(true);
      expect(whole.repaired).toBe(0);
      expect(whole.ranges).toBeLessThanOrEqual(plan.partitions.count + 2);

      // In slices from the checkpoint (the workflow's path): one range per call, each partition once in the end.
      let slice: GenericParityResult | undefined;
      let calls = 0;
      do {
        slice = (await new MockActivityEnvironment().run(acts.genericParity, { ...io, rangeRows: 50, ranges: 'partitions' as const, sliceSeconds: 0, from: slice?.checkpoint })) as GenericParityResult;
        calls++;
      } while (!slice.done && calls < 1000);
      expect(slice.done).toBe(true);
      expect(calls).toBe(slice.ranges);
      expect(slice.match).toBe(true);
      expect(new Set(slice.partitions!.map((x) => `${x.partition} ${x.bound}`)).size).toBe(slice.partitions!.length);

      // A checkpoint of a worker from before the column's sub-ranges (inside a month, after a key) goes on in key sub-ranges to the month's end.
      const secondMonth = months[0].bound.slice(1).split(', ')[0];
      const oldBeats: RangeParityCheckpoint[] = [];
      const oldEnv = new MockActivityEnvironment();
      oldEnv.on('heartbeat', (d: unknown) => oldBeats.push(d as RangeParityCheckpoint));
      const fromOld: RangeParityCheckpoint = {
        lo: null, table: { count: '0', sum: '0' }, shadow: { count: '0', sum: '0' }, ranges: 0, rows: 0, repaired: 0, differing: [],
        progress: { percent: 0, rowsPerSecond: 0, etaSeconds: null, total: 0 }, part: { from: secondMonth, key: ['0'] }, partitions: [],
      };
      const old = (await oldEnv.run(acts.genericParity, { ...io, rangeRows: 50, ranges: 'partitions' as const, from: fromOld })) as GenericParityResult;
      expect(old.match).toBe(true);
      expect(oldBeats.some((b) => b.part?.key && b.part.from === secondMonth)).toBe(true);
      expect(oldBeats.some((b) => b.part?.within !== undefined && b.part.from !== secondMonth)).toBe(true); // later months: the column's sub-ranges

      // A run that began on key ranges (its checkpoint has no partition cursor) ends on them.
      const keyed = (await new MockActivityEnvironment().run(acts.genericParity, { ...io, rangeRows: 50, sliceSeconds: 0 })) as GenericParityResult;
      const resumed = (await new MockActivityEnvironment().run(acts.genericParity, { ...io, rangeRows: 50, ranges: 'partitions' as const, from: keyed.checkpoint })) as GenericParityResult;
      expect(resumed.match).toBe(true);
      expect(resumed.partitions).toBeUndefined();
      expect(resumed.ranges).toBeGreaterThan(keyed.ranges);

      await db.pool.query(`DELETE FROM zoo.events WHERE who = 'far ahead'`); // not the load's: the oracle knows only its writes
      expect((await acts.swapGeneric(io)).swapped).toBe(true);
      await sleep(500);
    } finally {
      await load.stop();
    }
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(20);
    const v = await judgeRows(db.pool, '"zoo"."events"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });

  it('on the change-log engine (new runs): a partition missing rows is named and repaired (the log replayed first, its keys left out); the oracle is at zero after the swap', async () => {
    await db.pool.query(`CREATE SCHEMA logged; GRANT USAGE ON SCHEMA logged TO ${app};
      CREATE TABLE logged.orders (id bigserial PRIMARY KEY, placed date NOT NULL, total int);
      CREATE INDEX orders_placed ON logged.orders (placed);
      INSERT INTO logged.orders (placed, total) SELECT current_date - g, g FROM generate_series(0, 299) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON logged.orders TO ${app}; GRANT USAGE ON SEQUENCE logged.orders_id_seq TO ${app};`);
    profiles ??= createProfileResolver({ default: db.url });
    const acts = createGenericConversionActivities({ profiles });
    const io: GenericInput = { profile: 'default', choice: parseConversionChoice({ table: 'logged.orders', partitionBy: { column: 'placed', interval: 'month' } }), planAt: Date.now(), lockTimeoutMs: 500, engine: 'change-log' };
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName('logged.orders')))));
    const baseline = await readImages(db.pool, '"logged"."orders"', key);
    const load = await startSqlLoad({ url: appUrl(), table: 'logged.orders', ratePerSec: 60, seed: 28, baseline, spreadDays: 5 });
    try {
      const plan = await acts.planGenericConversion({ ...io, runId: 'logged', workflowId: 'logged' });
      io.facts = plan.facts;
      await acts.createGenericShadow(io);
      await acts.installGenericSync(io);
      await new MockActivityEnvironment().run(acts.copyGenericSnapshot, io);
      await new MockActivityEnvironment().run(acts.replayGenericLog, io);
      const shadow = plan.names.shadow;
      // 5 rows of the oldest partition lost (placed 290..299 days ago: far from the load's 5 days).
      const oldest = (await db.pool.query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM ${shadow} WHERE id = 300`)).rows[0].p;
      await db.pool.query(`DELETE FROM ${shadow} WHERE id BETWEEN 296 AND 300`);
      const r = (await new MockActivityEnvironment().run(acts.genericParity, { ...io, ranges: 'partitions' as const })) as GenericParityResult;
      expect(r.match, JSON.stringify(r.differing)).toBe(true);
      const parts = r.partitions!;
      const hit = parts.find((x) => oldest.endsWith(x.partition));
      expect(hit, JSON.stringify(parts)).toMatchObject({ match: true });
      expect(hit!.repaired).toBeGreaterThanOrEqual(1);
      expect(parts.filter((x) => x !== hit).reduce((n, x) => n + x.repaired, 0)).toBeLessThan(5);
      expect(parts.length).toBeGreaterThanOrEqual(10);
      expect(parts.reduce((n, x) => n + Number(x.table), 0)).toBe(r.rows);
      const n = async (t: string) => (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE id BETWEEN 296 AND 300`)).rows[0].n;
      expect(await n(shadow)).toBe(await n('logged.orders'));
      expect(await n(shadow)).toBeGreaterThanOrEqual(3);
      expect((await acts.swapGeneric(io)).swapped).toBe(true);
      await sleep(500);
    } finally {
      await load.stop();
    }
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(20);
    const v = await judgeRows(db.pool, '"logged"."orders"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });

  it('keeps key ranges for a heap without an index on the partition column (a range per partition would scan the whole heap)', async () => {
    await db.pool.query(`CREATE SCHEMA plain; CREATE TABLE plain.t (id bigserial PRIMARY KEY, at timestamptz NOT NULL, v int);
      INSERT INTO plain.t (at, v) SELECT now() - g * interval '5 days', g FROM generate_series(1, 60) g;`);
    profiles ??= createProfileResolver({ default: db.url });
    const acts = createGenericConversionActivities({ profiles });
    const io: GenericInput = { profile: 'default', choice: parseConversionChoice({ table: 'plain.t', partitionBy: { column: 'at', interval: 'month' } }), planAt: Date.now(), lockTimeoutMs: 500 };
    io.facts = (await acts.planGenericConversion({ ...io, runId: 'plain', workflowId: 'plain' })).facts;
    await acts.createGenericShadow(io);
    await acts.installGenericSync(io);
    await new MockActivityEnvironment().run(acts.copyGeneric, { ...io, batchSize: 100 });
    const r = (await new MockActivityEnvironment().run(acts.genericParity, { ...io, rangeRows: 25, ranges: 'partitions' as const })) as GenericParityResult;
    expect(r.match).toBe(true);
    expect(r.rows).toBe(60);
    expect(r.partitions).toBeUndefined();
    expect(r.ranges).toBe(3);
  });
});
