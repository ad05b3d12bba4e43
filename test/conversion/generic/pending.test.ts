import { describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion } from '../../../activities/conversion/plan/plan';
import { PENDING_NO_PARTITION } from '../../../activities/conversion/plan/pending';
import { copyAll, dropOld, runPhase, runPhaseInTransaction, wholeParity } from '../../../activities/conversion/generic/execute';
import { partitionsForHeap, settlePending } from '../../../activities/conversion/generic/partitions';
import { usePartitionOps } from './partition-ops';
import { readTableDescriptor, parseTableName } from '../../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './shapes';

/**
 * Issue 22, the review's last finding: a row written between the plan's data scan and the
 * sync's installation, outside the premade range, had no partition (the copy failed on it for
 * ever). Now the run makes its partition right after the installation, outside any application
 * transaction; and a write that still finds no partition at the swap fails that attempt only.
 */
const db = useTestDatabase();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ops = usePartitionOps(() => db.url);

describe('writes outside the premade partitions before the swap', () => {
  it('a row written between the data scan and the sync gets its partition before the copy; one pending at the swap fails that attempt, then the swap goes; oracle at zero', async () => {
    await db.pool.query(APP_ROLE_SQL(app));
    await db.pool.query(`CREATE SCHEMA zoo; GRANT USAGE ON SCHEMA zoo TO ${app};
      CREATE TABLE zoo.visits (id bigserial PRIMARY KEY, at timestamptz NOT NULL, who text);
      INSERT INTO zoo.visits (at, who) SELECT now() - g * interval '3 hours', 'w' || g FROM generate_series(1, 300) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON zoo.visits TO ${app}; GRANT USAGE ON SEQUENCE zoo.visits_id_seq TO ${app};`);
    const choice = parseConversionChoice({ table: 'zoo.visits', partitionBy: { column: 'at', interval: 'month' } });
    const plan = await db.withClient((c) => planConversion(c, choice));
    expect(plan.ok).toBe(true);
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName('zoo.visits')))));
    const baseline = await readImages(db.pool, '"zoo"."visits"', key);
    const load = await startSqlLoad({ url: appUrl(), table: 'zoo.visits', ratePerSec: 100, seed: 9, baseline, spreadDays: 30 });
    const appPool = new Pool({ connectionString: appUrl(), max: 1 });
    const exists = async (name: string) => (await db.pool.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [`zoo.${name}`])).rows[0].ok as boolean;
    try {
      await sleep(300);
      // After the plan's scan, before the sync: a row 2 years ahead (beyond the 4 months premade).
      await appPool.query(`INSERT INTO zoo.visits (at, who) VALUES (now() + interval '2 years', 'between scan and sync')`);
      const farMonth = (await db.pool.query(`SELECT to_char(now() AT TIME ZONE 'UTC' + interval '2 years', '"visits_p"YYYY"_"MM') AS p`)).rows[0].p as string;
      await db.withClient((c) => runPhase(c, plan, 'shadow'));
      await db.withClient((c) => runPhaseInTransaction(c, plan, 'sync', 200));
      expect(await exists(farMonth)).toBe(false);
      const made = await partitionsForHeap(ops(), plan, choice);
      expect(made.created).toEqual([farMonth]);
      await copyAll(db.pool, plan, 50);
      expect(await settlePending(ops(), plan, choice)).toMatchObject({ left: 0 });
      const p = await db.withClient((c) => wholeParity(c, plan.table, plan.names.shadow));
      expect(p.b).toEqual(p.a);
      // A write 3 years ahead after the settle: the swap's attempt fails (nothing changed), the run makes its partition, the swap goes.
      await appPool.query(`INSERT INTO zoo.visits (at, who) VALUES (now() + interval '3 years', 'pending at the swap')`);
      await expect(db.withClient((c) => runPhaseInTransaction(c, plan, 'swap', 200))).rejects.toMatchObject({ code: PENDING_NO_PARTITION });
      expect((await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = 'zoo.visits'::regclass`)).rows[0].relkind).toBe('r');
      expect((await settlePending(ops(), plan, choice)).created).toHaveLength(1);
      await db.withClient((c) => runPhaseInTransaction(c, plan, 'swap', 200));
      await sleep(500);
      const r = await db.withClient((c) => wholeParity(c, plan.table, plan.names.old));
      expect(r.b).toEqual(r.a);
      expect(await exists('visits_lichen_pending')).toBe(false);
      await db.withClient((c) => dropOld(c, plan, 200));
      await sleep(300);
    } finally {
      await appPool.end();
      await load.stop();
    }
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(50);
    const v = await judgeRows(db.pool, '"zoo"."visits"', key, baseline, load.log);
    v.extra -= 2; // the two rows written outside the generator's log
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM zoo.visits WHERE who IN ('between scan and sync', 'pending at the swap')`)).rows[0].n).toBe(2);
  });
});
