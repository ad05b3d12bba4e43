import { describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion } from '../../../activities/conversion/plan/plan';
import { dropOld, runPhase, runPhaseInTransaction, wholeParity } from '../../../activities/conversion/generic/execute';
import { columnType } from '../../../activities/conversion/generic/activities';
import { replayLog } from '../../../activities/conversion/generic/change-log';
import { snapshotCopy } from '../../../activities/conversion/generic/snapshot-copy';
import { readTableDescriptor, parseTableName } from '../../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../../src/loadgen/sql/row-oracle';
import { carriedSignature } from './carried';
import { APP_ROLE_SQL, ZOO } from './shapes';
import { KIND_SHAPES, type ZooShape } from './kind-shapes';
import { usePartitionOps } from './partition-ops';

/**
 * The zoo on the change-log engine (issue 25 item 2): every shape converted under the generic
 * load as the app role — the log's trigger, the snapshot copy in 2 lanes into plain tables,
 * the replay (which makes a partition a logged write needs, outside any application
 * transaction), the swap draining the tail — and the row oracle at zero on the partitioned table.
 */
const db = useTestDatabase();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ops = usePartitionOps(() => db.url);

describe('the zoo on the change-log engine, under the generic load, oracle at zero', () => {
  const quoted = (t: string) => t.split('.').map((p) => `"${p}"`).join('.');
  for (const shape of [...ZOO, ...KIND_SHAPES] as ZooShape[]) {
    it(`converts ${shape.name}`, async (ctx) => {
      const version = Number((await db.pool.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v);
      if (shape.minServer && version < shape.minServer) ctx.skip();
      await db.pool.query(APP_ROLE_SQL(app));
      await db.pool.query(shape.sql(app));
      const choice = parseConversionChoice({ table: shape.table, partitionBy: { column: shape.column, interval: shape.interval } });
      const plan = await db.withClient((c) => planConversion(c, choice, Date.now(), undefined, { changeLog: true }));
      expect(plan.blockers).toEqual([]);
      const log = plan.changeLog!;
      const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(shape.table)))));
      const carried = await carriedSignature(db.pool, quoted(shape.table));
      const baseline = await readImages(db.pool, quoted(shape.table), key);
      const load = await startSqlLoad({ url: appUrl(), table: shape.table, ratePerSec: 100, seed: 3, baseline, spreadDays: 40 });
      const partitionExists = async (name: string) => (await db.pool.query(`SELECT to_regclass(format('%I.%I', 'zoo', $1::text)) IS NOT NULL AS ok`, [name])).rows[0].ok as boolean;
      try {
        await sleep(300);
        await db.withClient((c) => runPhase(c, plan, 'shadow'));
        await db.withClient((c) => runPhaseInTransaction(c, plan, 'sync', 200));
        if (shape.future) {
          const appPool = new Pool({ connectionString: appUrl(), max: 1 });
          await appPool.query(shape.future.sql).finally(() => appPool.end());
          expect(await partitionExists(shape.future.partition), 'no partition created inside the application\'s transaction').toBe(false);
        }
        const copied = await snapshotCopy(db.pool, plan, { parallelism: 2, beat: () => undefined });
        expect(copied.done).toHaveLength(copied.partitions);
        const replayed = await replayLog(ops(), plan, choice, { shortEnough: 20 });
        expect(replayed.replayed).toBeGreaterThan(0);
        if (shape.future) {
          expect(replayed.created).toContain(shape.future.partition);
          const owner = await db.pool.query(`SELECT pg_get_userbyid(relowner) = current_user AS mine, has_table_privilege($2, format('%I.%I', 'zoo', $1::text), 'SELECT') AS app FROM pg_class WHERE oid = to_regclass(format('%I.%I', 'zoo', $1::text))`, [shape.future.partition, app]);
          expect(owner.rows[0]).toEqual({ mine: true, app: true });
        }
        // The swap drains the log's tail under its lock; then the reverse sync keeps the old table equal.
        await db.withClient((c) => runPhaseInTransaction(c, plan, 'swap', 200));
        expect(await partitionExists(log.name)).toBe(false);
        await sleep(600);
        const colType = await db.withClient((c) => columnType(c, quoted(shape.table), shape.column));
        const r = await db.withClient((c) => wholeParity(c, plan.table, plan.names.old, shape.column, colType));
        expect(r.b, 'the partitioned table equals the heap after the swap').toEqual(r.a);
        await db.withClient((c) => dropOld(c, plan, 200));
        await sleep(300);
      } finally {
        await load.stop();
      }
      expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(50);
      if (load.stats().refused > 0) expect(load.stats().lastError, `${load.stats().refused} refused`).toMatch(shape.refusalsExpected ?? /^$/);
      const v = await judgeRows(db.pool, quoted(shape.table), key, baseline, load.log);
      if (shape.future) v.extra -= 1;
      expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
      expect(await carriedSignature(db.pool, quoted(shape.table)), 'every column kind and constraint carried').toEqual(carried);
      expect((await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = $1::regclass`, [quoted(shape.table)])).rows[0].relkind).toBe('p');
    });
  }
});
