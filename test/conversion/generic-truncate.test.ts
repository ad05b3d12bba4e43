import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { abortUpdate, approveUpdate, statusQuery } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { TRUNCATE_REFUSED } from '../../activities/conversion/plan/truncate-guard';
import { APP_ROLE_SQL } from './generic/shapes';
import { startWorker, underGenericLoad, waitFor } from './harness';

/**
 * TRUNCATE fires no row trigger, so the sync cannot mirror it: while the tool's sync is installed
 * (before the swap: forward; after it until the old table is dropped: reverse) a TRUNCATE of the
 * table is refused by the guard installed with the sync (plan/truncate-guard.ts), and works again
 * once the run has ended.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

const TABLE_SQL = (t: string) => `CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
  CREATE TABLE shop.${t} (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL, note text);
  INSERT INTO shop.${t} (placed_at, customer, total, note) SELECT now() - g * interval '7 hours', g % 13, g / 7.0, 'n' || g FROM generate_series(1, 1500) g;
  GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON shop.${t} TO ${app};
  GRANT USAGE ON SEQUENCE shop.${t}_id_seq TO ${app};`;

/** TRUNCATE as the application's role: the error, or null when it went through. */
async function appTruncate(t: string): Promise<{ code?: string; message: string } | null> {
  const pool = new Pool({ connectionString: appUrl(), max: 1 });
  try {
    await pool.query(`TRUNCATE shop.${t}`);
    return null;
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  } finally {
    await pool.end();
  }
}

const rows = async (t: string) => (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM shop.${t}`)).rows[0].n;
const guards = async () => (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE 'lichen%'`)).rows[0].n;

const start = (t: string) => temporal.client.workflow.start('heapToPartitionedConversion', {
  taskQueue, workflowId: `${t}-${taskQueue}`,
  args: [{ table: `shop.${t}`, partitionBy: { column: 'placed_at', interval: 'month' }, connectionProfile: 'default', nonProduction: true, retentionMinutes: 0, copy: { batchSize: 200 } }],
});

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-truncate');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(TABLE_SQL('orders'));
  await db.pool.query(TABLE_SQL('carts'));
  await db.pool.query(TABLE_SQL('visits'));
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

describe('TRUNCATE during a conversion of any table', () => {
  it('is refused before the swap and during retention, naming the conversion, nothing lost (oracle at zero under the generic load); works after the run', async () => {
    const summary = await underGenericLoad(db, appUrl(), 'shop.orders', { seed: 25 }, async () => {
      const handle = await start('orders');
      await waitFor('the before-swap gate', async () => (await handle.query(statusQuery)).state === 'waiting-for-approval', 90_000);
      const before = await appTruncate('orders');
      expect(before?.code).toBe(TRUNCATE_REFUSED);
      expect(before?.message).toContain('TRUNCATE of "shop"."orders" refused: lichen-cutover is converting it');
      expect(before?.message).toMatch(/Abort the conversion .* or wait until the run has ended/);
      expect(await rows('orders')).toBeGreaterThan(1000);
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'parity seen', gate: 'before-swap' }] });
      await waitFor('the drop-old-table gate', async () => {
        const st = await handle.query(statusQuery);
        return st.state === 'waiting-for-approval' && st.phases.some((p) => p.phase === 'retention');
      }, 90_000);
      expect((await db.pool.query(`SELECT relkind::text AS k FROM pg_class WHERE oid = 'shop.orders'::regclass`)).rows[0].k).toBe('p');
      const during = await appTruncate('orders');
      expect(during?.code).toBe(TRUNCATE_REFUSED);
      expect(during?.message).toContain('"shop"."orders_old"');
      expect(await rows('orders')).toBeGreaterThan(1000);
      expect(await rows('orders_old')).toBeGreaterThan(1000);
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'old table verified', gate: 'drop-old-table' }] });
      return (await handle.result()) as GenericConversionSummary;
    });
    expect(summary.outcome).toBe('completed');
    expect(summary.droppedOldTable).toBe(true);
    expect(await guards()).toBe(0);
    expect(await appTruncate('orders')).toBeNull();
    expect(await rows('orders')).toBe(0);
  });

  it('works again after a rollback before the swap (the guard goes with the sync)', async () => {
    const handle = await start('carts');
    await waitFor('the before-swap gate', async () => (await handle.query(statusQuery)).state === 'waiting-for-approval', 90_000);
    expect((await appTruncate('carts'))?.code).toBe(TRUNCATE_REFUSED);
    await handle.executeUpdate(abortUpdate, { args: [{ operator: 'test-operator', reason: 'changed our mind' }] });
    await handle.result().catch(() => undefined);
    expect(await guards()).toBe(0);
    expect(await appTruncate('carts')).toBeNull();
    expect(await rows('carts')).toBe(0);
  });

  it('mode attach has no sync and loses nothing to a TRUNCATE during retention: the swap back returns exactly the rows written after it (none resurrected), so it is not guarded', async () => {
    const h = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId: `visits-${taskQueue}`,
      args: [{ table: 'shop.visits', mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' }, connectionProfile: 'default', nonProduction: true, retentionMinutes: 30, retentionCheckMinutes: 0.05, approvals: { beforeSwap: false } }],
    });
    await waitFor('the retention window', async () => (await h.query(statusQuery)).phases.some((p) => p.phase === 'retention'), 90_000);
    const appPool = new Pool({ connectionString: appUrl(), max: 1 });
    try {
      // Rows in the history partition (the heap) and in a new partition, then the TRUNCATE, then one row on each side of the bound again.
      await appPool.query(`INSERT INTO shop.visits (id, placed_at, customer, total) VALUES (9000001, now() + interval '100 days', 1, 1)`);
      expect(await appTruncate('visits')).toBeNull();
      await appPool.query(`INSERT INTO shop.visits (id, placed_at, customer, total) VALUES (9000002, now() - interval '40 days', 2, 2), (9000003, now() + interval '100 days', 3, 3)`);
    } finally {
      await appPool.end();
    }
    await h.executeUpdate(abortUpdate, { args: [{ operator: 'test-operator', reason: 'change window closed' }] });
    const s = (await h.result()) as GenericConversionSummary;
    expect(s.outcome).toBe('aborted');
    expect(s.keptTables ?? []).toEqual([]);
    expect((await db.pool.query(`SELECT relkind::text AS k FROM pg_class WHERE oid = 'shop.visits'::regclass`)).rows[0].k).toBe('r');
    expect((await db.pool.query<{ id: string }>(`SELECT id::text FROM shop.visits ORDER BY id`)).rows.map((r) => r.id)).toEqual(['9000002', '9000003']);
  });
});
