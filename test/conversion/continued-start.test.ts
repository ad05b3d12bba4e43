import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortUpdate, approveUpdate, statusQuery } from '../../workflows/messages';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { continuedInputOf, databaseFingerprint, expectRefusedNamingContinued, startWithTemporalCli } from '../helpers/continued-start';
import { seedHeap, startWorker, waitFor } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('conversion-continued');
  env = await startWorker(temporal, db.url, taskQueue);
  // 48 months: the one engine's copy slices at partition granularity, so a copy of many partitions hands over between slices.
  await seedHeap(db.pool, 4000, 48);
  await db.pool.query(`CREATE SCHEMA IF NOT EXISTS shop;
    CREATE TABLE shop.orders (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL, note text);
    INSERT INTO shop.orders (placed_at, customer, total, note) SELECT now() - g * interval '7 hours', g % 13, g / 7.0, 'n' || g FROM generate_series(1, 1000) g;`);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

const BUDGET = { maxEvents: 100 };
const ORDERS = { table: 'shop.orders', partitionBy: { column: 'placed_at', interval: 'month' } };

/**
 * Issue 24 item 1 for heapToPartitionedConversion (both forms) and partitionMaintenance: a
 * `continued` copied from a real chain — the generic one's at the drop, old table still there —
 * or a malformed one, started through the official `temporal` CLI, fails at once naming the
 * field: the run FAILS (no workflow task failing for ever), no activity runs, no table, trigger
 * or registry row appears or goes.
 */
describe('heapToPartitionedConversion: continued only in a real continuation', () => {
  it('a continued copied from a real chain of each form, started through the temporal CLI, fails naming continued and changes nothing', async () => {
    // Two real chains: memory_records hands over between copy slices and waits at before-swap;
    // shop.orders hands over in its retention window and waits at drop-old-table.
    const memId = `mem-chain-${taskQueue}`;
    const ordersId = `orders-chain-${taskQueue}`;
    const mem = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId: memId,
      args: [{ nonProduction: true, retentionMinutes: 0.2, retentionCheckMinutes: 0.05, approvals: { beforeSwap: true }, copy: { batchSize: 100, sliceSeconds: 1, maxRowsPerSecond: 150 }, history: BUDGET }],
    });
    const orders = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId: ordersId,
      args: [{ ...ORDERS, nonProduction: true, retentionMinutes: 0.4, retentionCheckMinutes: 0.05, approvals: { beforeSwap: false }, history: BUDGET }],
    });
    await waitFor('memory_records at before-swap', async () => (await mem.query(statusQuery)).waitingOn?.includes('before-swap'), 180_000);
    await waitFor('shop.orders at drop-old-table', async () => (await orders.query(statusQuery)).waitingOn?.includes('drop-old-table'), 180_000);
    const memCopied = await continuedInputOf(temporal.client, memId);
    const ordersCopied = await continuedInputOf(temporal.client, ordersId);
    expect((ordersCopied.continued as { stage: string }).stage).toMatch(/retention|drop/);
    const before = await databaseFingerprint(db.pool);
    expect(before).toContain('shop.orders_old');

    const cases: [string, string, Record<string, unknown>, RegExp][] = [
      ['memory_records, copied', 'heapToPartitionedConversion', memCopied, /continued: this run was started/],
      ['memory_records, malformed', 'heapToPartitionedConversion', { nonProduction: true, continued: { stage: 'drop' } }, /continued: this run was started/],
      ['shop.orders, copied', 'heapToPartitionedConversion', ordersCopied, /continued: this run was started/],
      ['shop.orders, malformed', 'heapToPartitionedConversion', { ...ORDERS, continued: { stage: 'drop' } }, /continued: this run was started/],
      ['maintenance (never continues)', 'partitionMaintenance', { continued: memCopied.continued }, /continued: unknown field/],
    ];
    for (const [i, [what, type, input, expected]] of cases.entries()) {
      const workflowId = `cli-${i}-${taskQueue}`;
      await startWithTemporalCli(temporal, { type, taskQueue, workflowId, input });
      expect(await expectRefusedNamingContinued(temporal.client, workflowId), what).toMatch(expected);
    }
    expect(await databaseFingerprint(db.pool), 'no table, trigger, registry row or mode changed').toBe(before);

    // The real chains are untouched; shop.orders still drops only on an approval.
    expect((await mem.query(statusQuery)).waitingOn).toMatch(/before-swap/);
    expect((await orders.query(statusQuery)).waitingOn).toMatch(/drop-old-table/);
    await mem.executeUpdate(abortUpdate, { args: [{ operator: 'test', reason: 'end of test' }] });
    await orders.executeUpdate(approveUpdate, { args: [{ operator: 'test', reason: 'end of test' }] });
    await Promise.all([mem.result(), orders.result()]);
  });
});
