import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion } from '../../../activities/conversion/plan/plan';
import { copyAll, dropOld, runPhase, runPhaseInTransaction, wholeParity } from '../../../activities/conversion/generic/execute';
import { readTableDescriptor, parseTableName } from '../../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './shapes';

/**
 * options.defaultPartition end to end, under the generic load as the app role: rows at ±infinity
 * (no interval holds them) go to the DEFAULT partition, and parity compares every row — the
 * review's finding: parity over ['-infinity', 'infinity') skipped the +infinity rows, so a shadow
 * missing one still "matched".
 */
const db = useTestDatabase();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TABLE = 'zoo.readings';

describe('a DEFAULT partition on request (options.defaultPartition)', () => {
  it('converts a table with ±infinity rows, parity sees every row (a missing +infinity row is a mismatch), oracle at zero', async () => {
    await db.pool.query(APP_ROLE_SQL(app));
    await db.pool.query(`CREATE SCHEMA zoo; GRANT USAGE ON SCHEMA zoo TO ${app};
      CREATE TABLE zoo.readings (id bigserial PRIMARY KEY, at timestamp NOT NULL, v int NOT NULL);
      INSERT INTO zoo.readings (at, v) SELECT localtimestamp - g * interval '5 hours', g FROM generate_series(1, 300) g;
      INSERT INTO zoo.readings (at, v) VALUES ('infinity', -1), ('-infinity', -2), ('infinity', -3);
      GRANT SELECT, INSERT, UPDATE, DELETE ON zoo.readings TO ${app}; GRANT USAGE ON SEQUENCE zoo.readings_id_seq TO ${app};`);
    const blocked = await db.withClient((c) => planConversion(c, parseConversionChoice({ table: TABLE, partitionBy: { column: 'at', interval: 'month' } })));
    expect(blocked.blockers.map((b) => b.code)).toEqual(['values-outside-intervals']);
    const plan = await db.withClient((c) => planConversion(c, parseConversionChoice({ table: TABLE, partitionBy: { column: 'at', interval: 'month' }, options: { defaultPartition: true } })));
    expect(plan.ok).toBe(true);
    expect(plan.partitions.default).toBe('readings_default');
    expect(plan.afterSwap.beyondRange).toMatch(/goes to the DEFAULT partition readings_default/);

    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(TABLE)))));
    const baseline = await readImages(db.pool, '"zoo"."readings"', key);
    const load = await startSqlLoad({ url: appUrl(), table: TABLE, ratePerSec: 100, seed: 7, baseline, spreadDays: 30 });
    try {
      await sleep(300);
      await db.withClient((c) => runPhase(c, plan, 'shadow'));
      await db.withClient((c) => runPhaseInTransaction(c, plan, 'sync', 200));
      await copyAll(db.pool, plan, 50);
      const p = await db.withClient((c) => wholeParity(c, plan.table, plan.names.shadow));
      expect(p.b).toEqual(p.a);
      // A +infinity row missing from the shadow: parity must see it (it sits in the DEFAULT partition).
      // The heap's row is locked meanwhile, so no application write of it puts it back before parity looks.
      await db.withClient(async (lock) => {
        await lock.query('BEGIN');
        const id = (await lock.query(`SELECT id FROM zoo.readings WHERE at = 'infinity' ORDER BY id LIMIT 1 FOR UPDATE`)).rows[0].id;
        expect((await lock.query(`DELETE FROM zoo.readings_partitioned WHERE id = $1`, [id])).rowCount).toBe(1);
        await lock.query('COMMIT');
        await lock.query('BEGIN');
        await lock.query(`SELECT 1 FROM zoo.readings WHERE id = $1 FOR UPDATE`, [id]);
        const q = await db.withClient((c) => wholeParity(c, plan.table, plan.names.shadow));
        expect(q.b, 'parity over every row, ±infinity included').not.toEqual(q.a);
        expect(Number(q.a.count) - Number(q.b.count)).toBe(1);
        await lock.query(`INSERT INTO zoo.readings_partitioned SELECT * FROM zoo.readings WHERE id = $1`, [id]);
        await lock.query('COMMIT');
      });
      const r = await db.withClient((c) => wholeParity(c, plan.table, plan.names.shadow));
      expect(r.b).toEqual(r.a);
      await db.withClient((c) => runPhaseInTransaction(c, plan, 'swap', 200));
      await sleep(500);
      const s = await db.withClient((c) => wholeParity(c, plan.table, plan.names.old));
      expect(s.b, 'the reverse sync keeps the old table equal').toEqual(s.a);
      await db.withClient((c) => dropOld(c, plan, 200));
      await sleep(300);
    } finally {
      await load.stop();
    }
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(50);
    const v = await judgeRows(db.pool, '"zoo"."readings"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
    const inDefault = await db.pool.query(`SELECT count(*)::int AS n FROM zoo.readings_default WHERE NOT isfinite(at)`);
    expect(inDefault.rows[0].n).toBeGreaterThanOrEqual(1);
  });
});
