import { describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion } from '../../../activities/conversion/plan/plan';
import { copyAll, dropOld, runPhase, runPhaseInTransaction, wholeParity } from '../../../activities/conversion/generic/execute';
import { columnType } from '../../../activities/conversion/generic/activities';
import { readTableDescriptor, parseTableName } from '../../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../../src/loadgen/sql/row-oracle';
import { carriedSignature } from './carried';
import { APP_ROLE_SQL, ZOO } from './shapes';
import { KIND_SHAPES, type ZooShape } from './kind-shapes';
import { settlePending } from '../../../activities/conversion/generic/partitions';
import { usePartitionOps } from './partition-ops';

const db = useTestDatabase();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ops = usePartitionOps(() => db.url);

describe('the zoo: table shapes converted online by the plan under the generic load, oracle at zero', () => {
  const quoted = (t: string) => t.split('.').map((p) => `"${p}"`).join('.');
  for (const shape of [...ZOO, ...KIND_SHAPES] as ZooShape[]) {
    it(`converts ${shape.name}`, async (ctx) => {
      const version = Number((await db.pool.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v);
      if (shape.minServer && version < shape.minServer) ctx.skip();
      await db.pool.query(APP_ROLE_SQL(app));
      await db.pool.query(shape.sql(app));
      const plan = await db.withClient((c) => planConversion(c, parseConversionChoice({ table: shape.table, partitionBy: { column: shape.column, interval: shape.interval } })));
      expect(plan.blockers).toEqual([]);
      const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(shape.table)))));
      const carried = await carriedSignature(db.pool, quoted(shape.table));
      const baseline = await readImages(db.pool, quoted(shape.table), key);
      const load = await startSqlLoad({ url: appUrl(), table: shape.table, ratePerSec: 100, seed: 3, baseline, spreadDays: 40 });
      try {
        await sleep(300);
        await db.withClient((c) => runPhase(c, plan, 'shadow'));
        await db.withClient((c) => runPhaseInTransaction(c, plan, 'sync', 200));
        const partitionExists = async (name: string) => (await db.pool.query(`SELECT to_regclass(format('%I.%I', 'zoo', $1::text)) IS NOT NULL AS ok`, [name])).rows[0].ok as boolean;
        if (shape.future) {
          const appPool = new Pool({ connectionString: appUrl(), max: 1 });
          await appPool.query(shape.future.sql).finally(() => appPool.end());
          // The application's write is accepted, but the sync creates no partition inside its transaction: the key waits in the side table.
          expect(await partitionExists(shape.future.partition), 'no partition created inside the application\'s transaction').toBe(false);
          expect(Number((await db.pool.query(`SELECT count(*) AS n FROM ${plan.pending!.table}`)).rows[0].n), 'the write is pending').toBe(1);
        }
        await copyAll(db.pool, plan, 50);
        // The run places what is pending: the partition made outside any application transaction, owned by the table's owner, the row replayed.
        const settled = await settlePending(ops(), plan, parseConversionChoice({ table: shape.table, partitionBy: { column: shape.column, interval: shape.interval } }));
        if (shape.future) {
          expect(settled.created).toEqual([shape.future.partition]);
          expect(settled.replayed).toBe(1);
          expect(await partitionExists(shape.future.partition)).toBe(true);
          const owner = await db.pool.query(`SELECT pg_get_userbyid(relowner) = current_user AS mine, has_table_privilege($2, format('%I.%I', 'zoo', $1::text), 'SELECT') AS app FROM pg_class WHERE oid = to_regclass(format('%I.%I', 'zoo', $1::text))`, [shape.future.partition, app]);
          expect(owner.rows[0]).toEqual({ mine: true, app: true });
        } else expect(settled).toEqual({ created: [], replayed: 0, left: 0 });
        // Under the load: the sync writes in the writer's transaction, so one snapshot sees both equal.
        const colType = await db.withClient((c) => columnType(c, quoted(shape.table), shape.column));
        const p = await db.withClient((c) => wholeParity(c, plan.table, plan.names.shadow, shape.column, colType));
        expect(p.b).toEqual(p.a);
        await db.withClient((c) => runPhaseInTransaction(c, plan, 'swap', 200));
        await sleep(600);
        const r = await db.withClient((c) => wholeParity(c, plan.table, plan.names.old, shape.column, colType));
        expect(r.b, 'the reverse sync keeps the old table equal').toEqual(r.a);
        await db.withClient((c) => dropOld(c, plan, 200));
        await sleep(300);
      } finally {
        await load.stop();
      }
      expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(50);
      // The conversion refuses no application statement the heap would have taken (an identity that did not continue, a SET the sync cannot do).
      if (load.stats().refused > 0) expect(load.stats().lastError, `${load.stats().refused} refused`).toMatch(shape.refusalsExpected ?? /^$/);
      // The far-future row was written outside the generator's log: it is the only extra row.
      const v = await judgeRows(db.pool, quoted(shape.table), key, baseline, load.log);
      if (shape.future) v.extra -= 1;
      expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
      expect(await carriedSignature(db.pool, quoted(shape.table)), 'every column kind and constraint carried').toEqual(carried);
      expect((await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = $1::regclass`, [quoted(shape.table)])).rows[0].relkind).toBe('p');
    });
  }
});
