import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import { Pool } from 'pg';
import { approveUpdate, resumeUpdate, statusQuery } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './generic/shapes';
import { rootMessage, startWorker, waitFor } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

const ORDERS_SQL = `CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
  CREATE TABLE shop.orders (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL, note text);
  CREATE INDEX orders_customer_idx ON shop.orders (customer);
  INSERT INTO shop.orders (placed_at, customer, total, note) SELECT now() - g * interval '7 hours', g % 13, g / 7.0, 'n' || g FROM generate_series(1, 2000) g;
  CREATE VIEW shop.big_orders AS SELECT id, customer, total FROM shop.orders WHERE total > 100;
  GRANT SELECT, INSERT, UPDATE, DELETE ON shop.orders TO ${app};
  GRANT USAGE ON SEQUENCE shop.orders_id_seq TO ${app};
  GRANT SELECT ON shop.big_orders TO ${app};`;

const COUPONS_SQL = `CREATE SCHEMA IF NOT EXISTS shop;
  CREATE TABLE shop.coupons (id bigserial PRIMARY KEY, code text NOT NULL, issued_at timestamptz NOT NULL DEFAULT now(), CONSTRAINT coupons_code_key UNIQUE (code));
  INSERT INTO shop.coupons (code, issued_at) SELECT 'c' || g, now() - g * interval '1 day' FROM generate_series(1, 50) g;`;

const schemaState = async () =>
  (await db.pool.query<{ s: string }>(
    `SELECT string_agg(c.relname || ':' || c.relkind::text, ',' ORDER BY c.relname) AS s FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'shop'`)).rows[0].s
  + '|' + (await db.pool.query(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE 'lichen%'`)).rows[0].n
  + '|' + (await db.pool.query(`SELECT count(*)::int AS n FROM cutover_runs`)).rows[0].n;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-conversion');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(ORDERS_SQL);
  await db.pool.query(COUPONS_SQL);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

describe('heapToPartitionedConversion of any table (input with "table")', () => {
  it('rejects bad generic input naming the field', async () => {
    for (const [input, field] of [
      [{ table: 'shop.orders', partitionBy: { column: 'placed_at', interval: 'fortnight' } }, 'partitionBy.interval'],
      [{ table: 'shop.orders; DROP TABLE x', partitionBy: { column: 'placed_at', interval: 'month' } }, 'table'],
      [{ table: 'shop.orders', partitionBy: { column: 'placed at"', interval: 'month' } }, 'partitionBy.column'],
      [{ table: 'shop.orders', partitionBy: { column: 'placed_at', interval: 'month' }, swap: { maxTries: 0 } }, 'swap.maxTries'],
    ] as const) {
      const err = await temporal.client.workflow.execute('heapToPartitionedConversion', { taskQueue, workflowId: `bad-${field}-${taskQueue}`, args: [input] }).catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(String(err.cause?.message)).toContain(`invalid input: ${field}`);
    }
  });

  it('fails at preflight naming a blocker and its options, with nothing changed', async () => {
    const before = await schemaState();
    const err = await temporal.client.workflow.execute('heapToPartitionedConversion', {
      taskQueue, workflowId: `blocked-${taskQueue}`,
      args: [{ table: 'shop.coupons', partitionBy: { column: 'issued_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0 }],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const msg = rootMessage(err);
    expect(msg).toMatch(/unique-without-partition-column \(coupons_code_key\)/);
    expect(msg).toMatch(/options: extend \| drop/);
    expect(await schemaState()).toBe(before);
  });

  it('converts shop.orders (serial id, a dependent view) under the generic load, approvals by update, a drop that waits for a view on the old table, oracle at zero after the drop', async () => {
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName('shop.orders')))));
    const baseline = await readImages(db.pool, '"shop"."orders"', key);
    const load = await startSqlLoad({ url: appUrl(), table: 'shop.orders', ratePerSec: 100, seed: 5, baseline, spreadDays: 60 });
    let summary: GenericConversionSummary;
    try {
      await new Promise((r) => setTimeout(r, 500));
      const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId: `orders-${taskQueue}`,
        args: [{ table: 'shop.orders', partitionBy: { column: 'placed_at', interval: 'month' }, connectionProfile: 'default', nonProduction: true, retentionMinutes: 0, copy: { batchSize: 200 } }],
      });
      await waitFor('the before-swap gate', async () => (await handle.query(statusQuery)).state === 'waiting-for-approval', 60_000);
      expect((await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = 'shop.orders'::regclass`)).rows[0].relkind).toBe('r');
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'parity seen', gate: 'before-swap' }] });
      await waitFor('the drop-old-table gate', async () => {
        const st = await handle.query(statusQuery);
        return st.state === 'waiting-for-approval' && st.phases.some((p) => p.phase === 'retention');
      }, 60_000);
      expect((await db.pool.query(`SELECT to_regclass('shop.orders_old') IS NOT NULL AS ok`)).rows[0].ok).toBe(true);
      // Someone made a view on the old table during retention: the drop waits, naming it (never CASCADE).
      await db.pool.query(`CREATE VIEW shop.audit_old AS SELECT id FROM shop.orders_old`);
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'old table verified', gate: 'drop-old-table' }] });
      await waitFor('the drop to wait for the operator', async () => (await handle.query(statusQuery)).state === 'waiting-for-operator', 30_000);
      expect((await handle.query(statusQuery)).waitingOn).toMatch(/view shop\.audit_old/);
      expect((await db.pool.query(`SELECT to_regclass('shop.orders_old') IS NOT NULL AS ok`)).rows[0].ok, 'nothing dropped').toBe(true);
      await db.pool.query(`DROP VIEW shop.audit_old`);
      await handle.executeUpdate(resumeUpdate, { args: [{ operator: 'test-operator', reason: 'view removed', decision: 'retry' }] });
      summary = (await handle.result()) as GenericConversionSummary;
      // The run's own history replays against the workflow code (deterministic: no nondeterminism error).
      await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, await handle.fetchHistory(), handle.workflowId);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await load.stop();
    }
    expect(summary.outcome).toBe('completed');
    expect(summary.phases.map((p) => p.phase)).toEqual(['preflight', 'create shadow', 'install sync', 'copy', 'verify', 'swap', 'post-swap check', 'retention', 'drop old table', 'partitions ahead', 'maintenance schedule', 'summary']);
    const made = summary.keepsWorking!.schedule as { scheduleId: string; outcome: string };
    expect(made.outcome).toBe('created');
    await temporal.client.schedule.getHandle(made.scheduleId).delete(); // the test's own: it must not fire later
    expect(summary.plan!.statements.shadow).toBeGreaterThan(0);
    expect(summary.copy!.rows).toBeGreaterThanOrEqual(2000);
    expect(summary.decisions.map((d) => `${d.action} ${d.gate ?? ''}`.trim())).toEqual(['approve before-swap', 'approve drop-old-table', 'resume']);
    expect(summary.droppedOldTable).toBe(true);
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(50);
    const v = await judgeRows(db.pool, '"shop"."orders"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
    const after = await db.pool.query(`SELECT (SELECT relkind FROM pg_class WHERE oid = 'shop.orders'::regclass) AS k, to_regclass('shop.orders_old') AS old, to_regclass('shop.orders_partitioned') AS shadow, (SELECT count(*)::int FROM shop.big_orders) AS view_rows`);
    expect(after.rows[0]).toMatchObject({ k: 'p', old: null, shadow: null });
    expect(after.rows[0].view_rows).toBeGreaterThan(0);
    // A month conversion keeps partitions ahead: the app role's write dated 3 months ahead is accepted (finding 5).
    const appPool = new Pool({ connectionString: appUrl(), max: 1 });
    try {
      await appPool.query(`INSERT INTO shop.orders (placed_at, customer, total, note) VALUES (now() + interval '3 months', 1, 1, 'three months ahead')`);
    } finally {
      await appPool.end();
    }
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM shop.orders WHERE note = 'three months ahead'`)).rows[0].n).toBe(1);
  });
});
