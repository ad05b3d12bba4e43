import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { approveUpdate, statusQuery } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { APP_ROLE_SQL } from './generic/shapes';
import { startWorker, underGenericLoad, waitFor } from './harness';

/**
 * options.defaultPartition through a whole run on the change-log engine (the parts are tested in
 * generic/change-log-default.test.ts): rows at ±infinity before the run and a row years ahead
 * written while it runs end in the DEFAULT partition of the converted table; the generic load as
 * the app role, the row oracle at zero.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-change-log-default');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
    CREATE TABLE shop.readings (id bigserial PRIMARY KEY, at timestamptz NOT NULL, v int NOT NULL, who text);
    INSERT INTO shop.readings (at, v, who) SELECT now() - g * interval '6 hours', g, 'w' || g FROM generate_series(1, 1200) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.readings TO ${app}; GRANT USAGE ON SEQUENCE shop.readings_id_seq TO ${app};`);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

describe('a run on the change-log engine with a DEFAULT partition', () => {
  it('rows outside every premade partition, before and during the run, end in the DEFAULT partition; oracle at zero', async () => {
    const ids = async (sql: string) => (await db.pool.query<{ id: number }>(sql)).rows.map((r) => r.id);
    const summary = await underGenericLoad(db, appUrl(), 'shop.readings', { seed: 41 }, async () => {
      // The test's own rows (unknown to the load, removed before its oracle judges).
      const appPool = new Pool({ connectionString: appUrl(), max: 1 });
      try {
        await appPool.query(`INSERT INTO shop.readings (id, at, v, who) VALUES (900001, 'infinity', 1, 'inf'), (900002, '-infinity', 2, 'ninf')`);
        const h = await temporal.client.workflow.start('heapToPartitionedConversion', {
          taskQueue, workflowId: `readings-${taskQueue}`,
          args: [{ table: 'shop.readings', partitionBy: { column: 'at', interval: 'month' }, options: { defaultPartition: true }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, copy: { parallelism: 2 } }],
        });
        await waitFor('the sync', async () => (await db.pool.query(`SELECT to_regclass('shop.readings_lichen_log') IS NOT NULL AS ok`)).rows[0].ok, 90_000);
        await appPool.query(`INSERT INTO shop.readings (id, at, v, who) VALUES (900003, now() + interval '5 years', 3, 'years ahead')`);
        // A run carrying out an option chosen for a blocker (defaultPartition) stops at before-swap, naming it.
        await waitFor('the before-swap gate', async () => (await h.query(statusQuery)).state === 'waiting-for-approval', 90_000);
        expect((await h.query(statusQuery)).waitingOn).toMatch(/defaultPartition/);
        await h.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'parity seen', gate: 'before-swap' }] });
        await waitFor('the drop-old-table gate', async () => {
          const st = await h.query(statusQuery);
          return st.state === 'waiting-for-approval' && st.phases.some((p) => p.phase === 'retention');
        }, 90_000);
        await h.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'old table verified', gate: 'drop-old-table' }] });
        const s = (await h.result()) as GenericConversionSummary;
        expect((await h.query(statusQuery)).phases.map((p) => p.phase)).toContain('copy');
        expect(await ids(`SELECT id::int AS id FROM shop.readings_default ORDER BY id`)).toEqual([900001, 900002, 900003]);
        await appPool.query(`DELETE FROM shop.readings WHERE id >= 900000`);
        return s;
      } finally {
        await appPool.end();
      }
    });
    expect(summary.outcome).toBe('completed');
    expect(summary.droppedOldTable).toBe(true);
    expect((await db.pool.query(`SELECT relkind::text AS k FROM pg_class WHERE oid = 'shop.readings'::regclass`)).rows[0].k).toBe('p');
  });
});
