import { describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion } from '../../../activities/conversion/plan/plan';
import { copyAll, runPhase, runPhaseInTransaction, wholeParity } from '../../../activities/conversion/generic/execute';
import { APP_ROLE_SQL } from './shapes';
import { settlePending } from '../../../activities/conversion/generic/partitions';
import { usePartitionOps } from './partition-ops';

const db = useTestDatabase();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const ops = usePartitionOps(() => db.url);

describe('the sync and an identity GENERATED ALWAYS column that is not the key', () => {
  it('mirrors UPDATE … SET seq = DEFAULT (a new identity value) and other updates, forward before the swap and back into the old table after it', async () => {
    await db.pool.query(APP_ROLE_SQL(app));
    await db.pool.query(`
      CREATE TABLE jobs (id int PRIMARY KEY, seq bigint GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL, state text NOT NULL);
      INSERT INTO jobs (id, at, state) SELECT g, now() - g * interval '1 day', 'new' FROM generate_series(1, 20) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO ${app};`);
    const plan = await db.withClient((c) => planConversion(c, parseConversionChoice({ table: 'jobs', partitionBy: { column: 'at', interval: 'month' } })));
    expect(plan.blockers).toEqual([]);
    const appPool = new Pool({ connectionString: appUrl(), max: 1 });
    const same = async (other: string) => {
      const p = await db.withClient((c) => wholeParity(c, '"public"."jobs"', other, 'at', 'timestamp with time zone'));
      expect(p.b).toEqual(p.a);
    };
    try {
      await db.withClient((c) => runPhase(c, plan, 'shadow'));
      await db.withClient((c) => runPhaseInTransaction(c, plan, 'sync', 500));
      await copyAll(db.pool, plan, 7);
      // Before the fix: 428C9 "column "seq" can only be updated to DEFAULT", from the sync's DO UPDATE SET.
      await appPool.query(`UPDATE jobs SET state = 'running' WHERE id <= 5`);
      await appPool.query(`UPDATE jobs SET seq = DEFAULT, state = 'renumbered' WHERE id IN (6, 7)`);
      await appPool.query(`UPDATE jobs SET seq = DEFAULT, at = at - interval '40 days' WHERE id = 8`);
      // A row moved into a month the shadow has no partition for waits as a pending key; the run places it (as parity does).
      await settlePending(ops(), plan, parseConversionChoice({ table: 'jobs', partitionBy: { column: 'at', interval: 'month' } }));
      await same(plan.names.shadow);
      await db.withClient((c) => runPhaseInTransaction(c, plan, 'swap', 500));
      await appPool.query(`UPDATE jobs SET state = 'done' WHERE id <= 3`);
      await appPool.query(`UPDATE jobs SET seq = DEFAULT WHERE id IN (9, 10)`);
      await appPool.query(`INSERT INTO jobs (id, at, state) VALUES (100, now(), 'late')`);
      await same(plan.names.old);
    } finally {
      await appPool.end();
    }
    const seqs = (await db.pool.query<{ n: string; d: string }>(`SELECT count(*) AS n, count(DISTINCT seq) AS d FROM jobs`)).rows[0];
    expect(seqs.d).toBe(seqs.n);
  });
});
