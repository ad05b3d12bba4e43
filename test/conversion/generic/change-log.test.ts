import { describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion } from '../../../activities/conversion/plan/plan';
import { runPhase, runPhaseInTransaction, wholeParity } from '../../../activities/conversion/generic/execute';
import { replayLog } from '../../../activities/conversion/generic/change-log';
import { snapshotCopy } from '../../../activities/conversion/generic/snapshot-copy';
import { usePartitionOps } from './partition-ops';
import { readTableDescriptor, parseTableName } from '../../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './shapes';
import { parseGenericConversionInput } from '../../../workflows/conversion/generic-input';

/**
 * Issue 25 item 2, the change-log engine's parts on a real Postgres, the app role writing all the
 * while: the trigger logs keys (the app role needs no privilege on the log), the snapshot copy
 * fills plain tables in parallel lanes and attaches them, the replay converges (twice is the
 * same as once), the swap drains the tail; the row oracle at zero.
 */
const db = useTestDatabase();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ops = usePartitionOps(() => db.url);

async function visits(rows: number) {
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA IF NOT EXISTS zoo; GRANT USAGE ON SCHEMA zoo TO ${app};
    DROP TABLE IF EXISTS zoo.visits CASCADE;
    CREATE TABLE zoo.visits (id bigserial PRIMARY KEY, at timestamptz NOT NULL, who text, n int CHECK (n >= 0));
    CREATE INDEX visits_who ON zoo.visits (who);
    INSERT INTO zoo.visits (at, who, n) SELECT now() - g * interval '5 hours', 'w' || g, g FROM generate_series(1, ${rows}) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON zoo.visits TO ${app}; GRANT USAGE ON SEQUENCE zoo.visits_id_seq TO ${app};`);
  const choice = parseConversionChoice({ table: 'zoo.visits', partitionBy: { column: 'at', interval: 'month' } });
  const plan = await db.withClient((c) => planConversion(c, choice, Date.now(), undefined, { changeLog: true }));
  expect(plan.ok).toBe(true);
  expect(plan.changeLog).not.toBeNull();
  const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName('zoo.visits')))));
  return { choice, plan, key };
}

const count = async (sql: string) => (await db.pool.query<{ n: number }>(sql)).rows[0].n;

describe('the change-log engine', () => {
  it('copy.parallelism: an integer from 1 to 64, absent by default (the database\'s cores, else 2); anything else is refused naming the field', () => {
    const base = { table: 'zoo.visits', partitionBy: { column: 'at', interval: 'month' } };
    expect(parseGenericConversionInput(base).copyParallelism).toBeUndefined();
    expect(parseGenericConversionInput({ ...base, copy: { parallelism: 4 } }).copyParallelism).toBe(4);
    for (const bad of [0, 65, 1.5, '2']) expect(() => parseGenericConversionInput({ ...base, copy: { parallelism: bad } })).toThrow(/copy\.parallelism.*1 to 64/);
  });

  it('logs keys only, copies under one snapshot in 2 lanes into plain tables it attaches, replays idempotently, drains in the swap; oracle at zero', async () => {
    const { choice, plan, key } = await visits(600);
    const log = plan.changeLog!;
    const baseline = await readImages(db.pool, '"zoo"."visits"', key);
    const load = await startSqlLoad({ url: appUrl(), table: 'zoo.visits', ratePerSec: 80, seed: 25, baseline, spreadDays: 120 });
    const appPool = new Pool({ connectionString: appUrl(), max: 2 });
    const opener = await appPool.connect();
    try {
      await db.withClient((c) => runPhase(c, plan, 'shadow'));
      // A transaction that begins before the trigger's installation and writes after it: its write is logged.
      await opener.query('BEGIN');
      await opener.query('SELECT 1');
      await db.withClient((c) => runPhaseInTransaction(c, plan, 'sync', 2000));
      await opener.query(`UPDATE zoo.visits SET who = 'open across the install' WHERE id = 3`);
      await opener.query('COMMIT');
      expect(await count(`SELECT count(*)::int AS n FROM ${log.table} WHERE id = 3`)).toBeGreaterThan(0);
      // The trigger writes the log, never the shadow.
      expect(await count(`SELECT count(*)::int AS n FROM ${plan.names.shadow}`)).toBe(0);

      const beats: number[] = [];
      const copied = await snapshotCopy(db.pool, plan, { parallelism: 2, beat: (cp) => beats.push(cp.done.length) });
      expect(copied.done).toHaveLength(copied.partitions);
      expect(copied.rows).toBeGreaterThanOrEqual(500);
      // The count the lanes report is what they wrote (nothing else writes the shadow before the replay).
      expect(copied.rows).toBe(await count(`SELECT count(*)::int AS n FROM ${plan.names.shadow}`));
      expect(beats.length).toBeGreaterThanOrEqual(copied.partitions);
      // Each partition is attached, with the parent's indexes built, and the copy's bound check gone.
      const parts = (await db.pool.query<{ name: string; idx: number; checks: number }>(
        `SELECT c.relname AS name, (SELECT count(*)::int FROM pg_index x WHERE x.indrelid = c.oid) AS idx,
                (SELECT count(*)::int FROM pg_constraint k WHERE k.conrelid = c.oid AND k.conname = 'lichen_copy_bound') AS checks
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`, [plan.names.shadow])).rows;
      expect(parts.length).toBe(copied.partitions);
      for (const p of parts) expect(p, p.name).toMatchObject({ idx: 2, checks: 0 });
      // Built by the lanes on the plain tables (named after them), and taken by ATTACH for the parent's: none built twice.
      const names = (await db.pool.query<{ n: string }>(`SELECT x.indexrelid::regclass::text AS n FROM pg_index x JOIN pg_inherits i ON i.inhrelid = x.indrelid WHERE i.inhparent = $1::regclass`, [plan.names.shadow])).rows.map((r) => r.n);
      expect(names.length).toBe(2 * parts.length);
      for (const n of names) expect(n).toMatch(/lichen_fill/);
      // A partition redone (a retry after its earlier copy was attached and the heartbeat lost): no name collides, the indexes are not doubled.
      const again = await snapshotCopy(db.pool, plan, { parallelism: 2, beat: () => undefined, from: { done: copied.done.slice(1), rows: 0 } });
      expect(again.done).toHaveLength(copied.partitions);
      expect(Number((await db.pool.query(`SELECT count(*) AS n FROM pg_index x JOIN pg_inherits i ON i.inhrelid = x.indrelid WHERE i.inhparent = $1::regclass`, [plan.names.shadow])).rows[0].n)).toBe(2 * parts.length);
      expect(await count(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE '%lichen_fill'`)).toBe(0);

      // Updates that move rows across partitions, and a delete and re-insert of one key, while the load goes on.
      await appPool.query(`UPDATE zoo.visits SET at = at - interval '40 days' WHERE id IN (10, 11, 12)`);
      await appPool.query(`UPDATE zoo.visits SET at = now() + interval '14 months' WHERE id = 13`); // no partition yet: the replay makes it
      await appPool.query(`DELETE FROM zoo.visits WHERE id = 20`);
      await appPool.query(`INSERT INTO zoo.visits (id, at, who, n) VALUES (20, now() - interval '70 days', 'reborn', 1)`);
      await sleep(500);
      const r1 = await replayLog(ops(), plan, choice, { shortEnough: 50 });
      expect(r1.replayed).toBeGreaterThan(0);
      expect(r1.created.length).toBeGreaterThanOrEqual(1);
    } finally {
      await opener.query('ROLLBACK').catch(() => undefined);
      opener.release();
      await load.stop();
    }
    // Quiet: one more replay leaves the log empty and the shadow equal to the heap.
    await replayLog(ops(), plan, choice, { shortEnough: 0 });
    expect(await count(log.countSql)).toBe(0);
    const p1 = await db.withClient((c) => wholeParity(c, plan.table, plan.names.shadow));
    expect(p1.b).toEqual(p1.a);
    // The key deleted and re-inserted has one image in the shadow, the heap's.
    const image = (t: string) => db.pool.query(`SELECT t::text AS img FROM ${t} t WHERE id = 20`).then((r) => r.rows);
    expect(await image(plan.names.shadow)).toEqual(await image(plan.table));
    expect(await image(plan.table)).toHaveLength(1);
    // Idempotent: every key of the table logged again and replayed twice changes nothing.
    await db.pool.query(`INSERT INTO ${log.table} (op, id) SELECT 'U', id FROM zoo.visits UNION ALL SELECT 'D', 424242`);
    const again = await replayLog(ops(), plan, choice, { shortEnough: 0 });
    expect(again.replayed).toBe(Number(p1.a.count) + 1);
    await db.pool.query(`INSERT INTO ${log.table} (op, id) SELECT 'U', id FROM zoo.visits`);
    await replayLog(ops(), plan, choice, { shortEnough: 0 });
    const p2 = await db.withClient((c) => wholeParity(c, plan.table, plan.names.shadow));
    expect(p2).toEqual(p1);

    // The swap under a new load drains the log's tail in its transaction; the log goes with the sync.
    const baseline2 = await readImages(db.pool, '"zoo"."visits"', key);
    const load2 = await startSqlLoad({ url: appUrl(), table: 'zoo.visits', ratePerSec: 80, seed: 26, baseline: baseline2, spreadDays: 60 });
    try {
      await sleep(800);
      await replayLog(ops(), plan, choice, { shortEnough: 20 });
      await sleep(300);
      await db.withClient((c) => runPhaseInTransaction(c, plan, 'swap', 2000));
      expect(await count(`SELECT count(*)::int AS n FROM pg_class WHERE relname = '${log.name}'`)).toBe(0);
      await sleep(500);
    } finally {
      await load2.stop();
      await appPool.end();
    }
    const r = await db.withClient((c) => wholeParity(c, plan.table, plan.names.old));
    expect(r.b).toEqual(r.a);
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(20);
    expect(load2.stats().committed, load2.stats().lastError).toBeGreaterThan(20);
    // The oracle over both loads (the second's baseline is the first's outcome) and the writes of this test outside them.
    const v = await judgeRows(db.pool, '"zoo"."visits"', key, baseline2, load2.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });
});
