import { expect } from 'vitest';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { approveUpdate } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { parseTableName, readTableDescriptor } from '../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad, type SqlLoadHandle } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from '../conversion/generic/shapes';
import type { TestDatabase } from './db';

/**
 * A short generic conversion of `<schema>.orders` (bigserial id, timestamptz placed_at, an index)
 * under the generic SQL load of an unprivileged role, judged by the row oracle: the package and
 * versioning tests run it on workers that are not the in-process test worker.
 */
export interface OrdersRun {
  table: string;
  load: SqlLoadHandle;
  /** Stops the load and returns the oracle's verdict on the converted table. */
  judge(): Promise<Awaited<ReturnType<typeof judgeRows>>>;
}

export async function ordersUnderLoad(db: TestDatabase, schema: string, rows = 600): Promise<OrdersRun> {
  const app = `app_${process.pid}`;
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA ${schema}; GRANT USAGE ON SCHEMA ${schema} TO ${app};
    CREATE TABLE ${schema}.orders (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL, note text);
    CREATE INDEX ON ${schema}.orders (customer);
    INSERT INTO ${schema}.orders (placed_at, customer, total, note) SELECT now() - g * interval '5 hours', g % 13, g / 7.0, 'n' || g FROM generate_series(1, ${rows}) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ${schema}.orders TO ${app};
    GRANT USAGE ON SEQUENCE ${schema}.orders_id_seq TO ${app};`);
  const table = `${schema}.orders`;
  const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(table)))));
  const quoted = `"${schema}"."orders"`;
  const baseline = await readImages(db.pool, quoted, key);
  const load = await startSqlLoad({ url: db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`), table, ratePerSec: 40, seed: 7, baseline, spreadDays: 20 });
  return {
    table,
    load,
    async judge() {
      await load.stop();
      expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(10);
      return judgeRows(db.pool, quoted, key, baseline, load.log);
    },
  };
}

/** Starts the conversion of `table` (no approval before the swap; the drop approved ahead of time). */
export async function startOrdersConversion(client: Client, taskQueue: string, workflowId: string, table: string, retentionMinutes: number, extra: Record<string, unknown> = {}): Promise<WorkflowHandle> {
  const handle = await client.workflow.start('heapToPartitionedConversion', {
    taskQueue, workflowId,
    args: [{ table, partitionBy: { column: 'placed_at', interval: 'month' }, connectionProfile: 'default', nonProduction: true, retentionMinutes, retentionCheckMinutes: 0.05, approvals: { beforeSwap: false }, copy: { batchSize: 200 }, ...extra }],
  });
  await handle.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'dropped once retention is over', gate: 'drop-old-table' }] });
  return handle;
}

/** The summary of a completed run, and that the table is partitioned and the old one gone. */
export async function expectConverted(db: TestDatabase, handle: WorkflowHandle, table: string): Promise<GenericConversionSummary> {
  const summary = (await handle.result()) as GenericConversionSummary;
  expect(summary.outcome).toBe('completed');
  expect(summary.droppedOldTable).toBe(true);
  const r = await db.pool.query(`SELECT (SELECT relkind FROM pg_class WHERE oid = $1::regclass) AS k, to_regclass($2) AS old`, [table, `${table}_old`]);
  expect(r.rows[0]).toMatchObject({ k: 'p', old: null });
  return summary;
}
