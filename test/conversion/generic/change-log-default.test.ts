import { describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion } from '../../../activities/conversion/plan/plan';
import { runPhase, runPhaseInTransaction, wholeParity } from '../../../activities/conversion/generic/execute';
import { missingPartitions, replayLog } from '../../../activities/conversion/generic/change-log';
import { partitionsForHeap } from '../../../activities/conversion/generic/partitions';
import { snapshotCopy } from '../../../activities/conversion/generic/snapshot-copy';
import { usePartitionOps } from './partition-ops';
import { readTableDescriptor, parseTableName } from '../../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './shapes';

/**
 * options.defaultPartition on the change-log engine's copy (generic/snapshot-copy.ts), under the
 * generic load as the app role: rows no premade partition holds (±infinity, and rows written
 * after the plan years away) are copied into the DEFAULT partition, which the lanes fill last;
 * writes after the snapshot that move rows into and out of the DEFAULT are replayed; the swap
 * drains the tail; the row oracle at zero.
 */
const db = useTestDatabase();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ops = usePartitionOps(() => db.url);
const TABLE = 'zoo.readings';
const count = async (sql: string, params: unknown[] = []) => (await db.pool.query<{ n: number }>(sql, params)).rows[0].n;

describe('the change-log copy with a DEFAULT partition (options.defaultPartition)', () => {
  it('copies rows outside the premade partitions into the DEFAULT, replays moves into and out of it, swaps; oracle at zero', async () => {
    await db.pool.query(APP_ROLE_SQL(app));
    await db.pool.query(`CREATE SCHEMA zoo; GRANT USAGE ON SCHEMA zoo TO ${app};
      CREATE TABLE zoo.readings (id bigserial PRIMARY KEY, at timestamptz NOT NULL, v int NOT NULL, who text);
      CREATE INDEX readings_who ON zoo.readings (who);
      INSERT INTO zoo.readings (at, v, who) SELECT now() - g * interval '5 hours', g, 'w' || g FROM generate_series(1, 800) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON zoo.readings TO ${app}; GRANT USAGE ON SEQUENCE zoo.readings_id_seq TO ${app};`);
    const choice = parseConversionChoice({ table: TABLE, partitionBy: { column: 'at', interval: 'month' }, options: { defaultPartition: true } });
    const plan = await db.withClient((c) => planConversion(c, choice, Date.now(), undefined, { changeLog: true }));
    expect(plan.ok, JSON.stringify(plan.blockers)).toBe(true);
    expect(plan.changeLog).not.toBeNull();
    const dflt = `"zoo"."${plan.partitions.default}"`;
    expect(plan.partitions.default).toBe('readings_default');

    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(TABLE)))));
    const baseline = await readImages(db.pool, '"zoo"."readings"', key);
    const load = await startSqlLoad({ url: appUrl(), table: TABLE, ratePerSec: 80, seed: 31, baseline, spreadDays: 40 });
    const appPool = new Pool({ connectionString: appUrl(), max: 2 });
    // The test's own rows (ids 900001…, unknown to the load: it never writes them; removed before the oracle judges the load's writes).
    const mine = `SELECT id::int AS id FROM ${dflt} WHERE id >= 900000 ORDER BY id`;
    const ids = async (sql: string) => (await db.pool.query<{ id: number }>(sql)).rows.map((r) => r.id);
    try {
      await sleep(300);
      await appPool.query(`INSERT INTO zoo.readings (id, at, v, who) VALUES (900004, now() - interval '2 days', 4, 'in range'), (900005, 'infinity', 5, 'inf'), (900006, '-infinity', 6, 'ninf')`);
      await db.withClient((c) => runPhase(c, plan, 'shadow'));
      await db.withClient((c) => runPhaseInTransaction(c, plan, 'sync', 2000));
      // Written after the plan, before the snapshot: years away from every premade partition.
      await appPool.query(`INSERT INTO zoo.readings (id, at, v, who) VALUES (900001, now() + interval '5 years', 1, 'future'), (900002, now() - interval '9 years', 2, 'past')`);
      // As the activity after the installation: with the DEFAULT nothing needs a partition of its own.
      expect((await partitionsForHeap(ops(), plan, choice)).created).toEqual([]);

      const copied = await snapshotCopy(db.pool, plan, { parallelism: 2, beat: () => undefined });
      expect(copied.done).toHaveLength(copied.partitions);
      expect(copied.done[copied.done.length - 1]).toBe('readings_default');
      // The DEFAULT holds exactly the rows no premade partition holds (as the snapshot saw them), and is a DEFAULT partition of the shadow.
      expect((await db.pool.query(`SELECT pg_get_expr(c.relpartbound, c.oid) AS b FROM pg_class c WHERE c.oid = $1::regclass`, [dflt])).rows[0].b).toBe('DEFAULT');
      expect(await ids(mine)).toEqual([900001, 900002, 900005, 900006]);
      expect(await count(`SELECT count(*)::int AS n FROM ${dflt} WHERE id < 900000`)).toBe(0);
      // Its indexes built like every partition's, the bound check gone.
      expect(await count(`SELECT count(*)::int AS n FROM pg_index WHERE indrelid = $1::regclass`, [dflt])).toBe(2);
      expect(await count(`SELECT count(*)::int AS n FROM pg_constraint WHERE conrelid = $1::regclass AND conname = 'lichen_copy_bound'`, [dflt])).toBe(0);

      // After the snapshot: a row moved into the DEFAULT, one moved out of it, a new one into it, one deleted from it.
      await appPool.query(`UPDATE zoo.readings SET at = now() + interval '7 years' WHERE id = 900004`);
      await appPool.query(`UPDATE zoo.readings SET at = now() - interval '3 days' WHERE id = 900001`);
      await appPool.query(`INSERT INTO zoo.readings (id, at, v, who) VALUES (900003, 'infinity', 3, 'late inf')`);
      await appPool.query(`DELETE FROM zoo.readings WHERE id = 900002`);
      await sleep(400);
      const r1 = await replayLog(ops(), plan, choice, { shortEnough: 50 });
      expect(r1.replayed).toBeGreaterThan(0);
      expect(r1.created).toEqual([]);
      expect(await missingPartitions(ops(), plan, choice)).toEqual([]);
      const where = async (id: number) => (await db.pool.query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM ${plan.names.shadow} WHERE id = $1`, [id])).rows.map((r) => r.p);
      expect(await where(900004)).toEqual(['zoo.readings_default']);
      expect(await where(900003)).toEqual(['zoo.readings_default']);
      expect((await where(900001))[0]).toMatch(/^zoo\.readings_p\d{4}_\d{2}$/);
      expect(await where(900002)).toEqual([]);

      // The swap under the load drains the tail; the DEFAULT goes with the table.
      await replayLog(ops(), plan, choice, { shortEnough: 20 });
      await db.withClient((c) => runPhaseInTransaction(c, plan, 'swap', 2000));
      await sleep(500);
    } finally {
      await load.stop();
      await appPool.end();
    }
    expect((await db.pool.query(`SELECT relkind::text AS k FROM pg_class WHERE oid = 'zoo.readings'::regclass`)).rows[0].k).toBe('p');
    const r = await db.withClient((c) => wholeParity(c, plan.table, plan.names.old));
    expect(r.b).toEqual(r.a);
    expect(await ids(`SELECT id::int AS id FROM zoo.readings_default ORDER BY id`)).toEqual([900003, 900004, 900005, 900006]);
    expect(await ids(`SELECT id::int AS id FROM zoo.readings_old WHERE id >= 900000 ORDER BY id`)).toEqual([900001, 900003, 900004, 900005, 900006]);
    await db.pool.query(`DELETE FROM zoo.readings WHERE id >= 900000`);
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(20);
    const v = await judgeRows(db.pool, '"zoo"."readings"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });
});
