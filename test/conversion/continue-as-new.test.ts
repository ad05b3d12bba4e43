import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { approveUpdate, statusQuery } from '../../workflows/messages';
import type { ConversionSummary, GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { buildAuditReport } from '../../src/audit/report';
import { fetchRunChain } from '../../src/audit/chain';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './generic/shapes';
import { checkOracle, seedHeap, SqlWriter, startWorker, waitFor } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('conversion-can');
  env = await startWorker(temporal, db.url, taskQueue);
  // 48 months: the one engine's copy slices at partition granularity (a slice fills at least one partition), so a copy
  // of many partitions passes the 100-event budget between two slices, as memory_records' keyset slices did on 4 months.
  await seedHeap(db.pool, 4000, 48);
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
    CREATE TABLE shop.orders (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL, note text);
    INSERT INTO shop.orders (placed_at, customer, total, note) SELECT now() - g * interval '7 hours', g % 13, g / 7.0, 'n' || g FROM generate_series(1, 2000) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.orders TO ${app};
    GRANT USAGE ON SEQUENCE shop.orders_id_seq TO ${app};`);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

const BUDGET = { maxEvents: 100 };

/** Each step once, in order: the chain's phases read as one run's. */
function expectOneRunOfPhases(phases: { phase: string; outcome?: string }[], expected: string[]): void {
  expect(phases.map((p) => p.phase)).toEqual(expected);
  expect(phases.every((p) => p.outcome === 'ok'), JSON.stringify(phases)).toBe(true);
}

/**
 * Issue 17 item 4 for the conversions: with a 100-event history budget, a conversion under
 * continuous writes hands over between copy slices, in the retention window and between steps;
 * an approval given ahead of time in the first run opens the drop in a later one; the oracle
 * is at zero and the audit report of the chain reads as one run.
 */
describe('heapToPartitionedConversion: bounded histories (continue-as-new)', () => {
  it('memory_records: one conversion spans at least three runs under load, oracle at zero', async () => {
    const writer = new SqlWriter(db.url, 120, 3);
    onTestFinished(() => writer.stop());
    await writer.load();
    writer.start();
    const workflowId = `convert-can-${taskQueue}`;
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId,
      args: [{ nonProduction: true, retentionMinutes: 0.6, retentionCheckMinutes: 0.05, approvals: { beforeSwap: true }, copy: { batchSize: 100, sliceSeconds: 1, maxRowsPerSecond: 200 }, history: BUDGET }],
    });
    // A pre-approval of the drop, carried through every hand-over.
    await handle.executeUpdate(approveUpdate, { args: [{ operator: 'ana', reason: 'drop approved in the change ticket', gate: 'drop-old-table' }] });
    await waitFor('the before-swap gate', async () => (await handle.query(statusQuery)).waitingOn?.includes('before-swap'), 90_000);
    await handle.executeUpdate(approveUpdate, { args: [{ operator: 'ana', reason: 'parity verified', gate: 'before-swap' }] });
    const summary = (await handle.result()) as ConversionSummary;
    await writer.stop();

    expect(summary.outcome, summary.cause).toBe('completed');
    expectOneRunOfPhases(summary.phases, ['preflight', 'create shadow', 'install sync', 'copy', 'verify', 'swap', 'post-swap check', 'retention', 'drop old table', 'summary']);
    expect(summary.copy.rows).toBeGreaterThan(3500); // the heap less what the writer deleted before the copy reached it
    expect(summary.copy.slices).toBeGreaterThan(2);
    expect(summary.retention?.checks).toBeGreaterThanOrEqual(11);
    expect(summary.droppedOldTable).toBe(true);
    expect(summary.decisions.map((d) => `${d.action} ${d.gate}`)).toEqual(['approve drop-old-table', 'approve before-swap']);
    expect(await checkOracle(db.url, 'memory_records', writer.oracle)).toMatchObject({ missing: 0, stale: 0, resurrected: 0 });

    const chain = await fetchRunChain(temporal.client.workflow, workflowId);
    expect(chain.length).toBeGreaterThanOrEqual(3);
    expect(summary.history?.runs).toBe(chain.length);
    const at = summary.history!.continuedAt.map((c) => c.handedOverAt);
    expect(at, at.join(', ')).toContain('retention');
    expect(at, at.join(', ')).toContain('copy');
    const report = buildAuditReport(chain, { workflowId });
    expect(report).toMatchObject({ status: 'completed', outcome: 'completed' });
    expect(report.runs).toHaveLength(chain.length);
    expect(report.phases.map((p) => p.phase)).toEqual(summary.phases.map((p) => p.phase));
    expect(report.decisions.filter((d) => d.action === 'approve').map((d) => d.gate)).toEqual(['drop-old-table', 'before-swap']);
    // Each slice is one copy activity in the audit (memory_records' own copyHeapSlice before the one engine, its snapshot copy since).
    expect(report.activities.filter((a) => a.activity === 'copyHeapSlice' || a.activity === 'copyGenericSnapshot').length).toBe(summary.copy.slices);
  });

  it('any table (shop.orders): the retention window spans runs, oracle at zero after the drop', async () => {
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName('shop.orders')))));
    const baseline = await readImages(db.pool, '"shop"."orders"', key);
    const load = await startSqlLoad({ url: appUrl(), table: 'shop.orders', ratePerSec: 80, seed: 7, baseline, spreadDays: 60 });
    const workflowId = `orders-can-${taskQueue}`;
    let summary: GenericConversionSummary;
    try {
      const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId,
        args: [{ table: 'shop.orders', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0.5, retentionCheckMinutes: 0.05, approvals: { beforeSwap: false }, history: BUDGET }],
      });
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'ana', reason: 'drop approved in the change ticket', gate: 'drop-old-table' }] });
      summary = (await handle.result()) as GenericConversionSummary;
    } finally {
      await load.stop();
    }
    expect(summary.outcome, summary.cause).toBe('completed');
    expectOneRunOfPhases(summary.phases, ['preflight', 'create shadow', 'install sync', 'copy', 'verify', 'swap', 'post-swap check', 'retention', 'drop old table', 'partitions ahead', 'maintenance schedule', 'summary']);
    const made = summary.keepsWorking?.schedule as { scheduleId: string; outcome: string };
    expect(made.outcome).toBe('created');
    await temporal.client.schedule.getHandle(made.scheduleId).delete();
    expect(summary.retention?.checks).toBeGreaterThanOrEqual(9);
    expect(summary.droppedOldTable).toBe(true);
    const v = await judgeRows(db.pool, '"shop"."orders"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
    const chain = await fetchRunChain(temporal.client.workflow, workflowId);
    expect(chain.length).toBeGreaterThanOrEqual(2);
    expect(summary.history?.continuedAt.map((c) => c.handedOverAt)).toContain('retention');
    const report = buildAuditReport(chain, { workflowId });
    expect(report).toMatchObject({ status: 'completed', outcome: 'completed' });
    expect((await db.pool.query(`SELECT (SELECT relkind FROM pg_class WHERE oid = 'shop.orders'::regclass) AS k, to_regclass('shop.orders_old') AS old`)).rows[0]).toMatchObject({ k: 'p', old: null });
  });
});
