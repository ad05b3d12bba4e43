import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortUpdate, statusQuery } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { rootMessage, seedHeap, startWorker, waitFor } from './harness';

/**
 * One active run per table, whatever the workflow (the run registry, cutover_runs): the conversion
 * of any table registers under the same key as every other workflow — `memory_records` for
 * public.memory_records, as its production cutover, its conversion without `table` and the
 * memory-layer app (which looks for an active run there) — and is refused at preflight, before
 * anything changes, while another run holds the table, also one registered by an older worker under
 * the quoted qualified name.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;
const MR = { table: 'public.memory_records', partitionBy: { column: 'created_at', interval: 'month' }, options: { maintenance: { schedule: false } }, nonProduction: true, retentionMinutes: 0 };

const state = async () => (await db.pool.query<{ s: string }>(
  `SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass('memory_records')) || '|' || coalesce(to_regclass('memory_records_partitioned')::text, '-')
          || '|' || (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'lichen%') AS s`)).rows[0].s;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-registry');
  env = await startWorker(temporal, db.url, taskQueue);
  await seedHeap(db.pool, 300, 2);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

describe('the run registry: one active run per table across workflows', () => {
  it('refuses a conversion of public.memory_records while its production cutover is active, naming it, with nothing changed', async () => {
    await db.pool.query(`INSERT INTO cutover_runs (run_id, workflow_id, target, kind) VALUES ('prod-run', 'prod-wf', 'memory_records', 'productionCutover')`);
    const before = await state();
    try {
      const err = await temporal.client.workflow.execute('heapToPartitionedConversion', { taskQueue, workflowId: `mr-while-prod-${taskQueue}`, args: [MR] }).catch((e) => e);
      expect(rootMessage(err)).toMatch(/another run is active for memory_records: productionCutover workflow prod-wf/);
      expect(await state()).toBe(before);
    } finally {
      await db.pool.query(`DELETE FROM cutover_runs WHERE run_id = 'prod-run'`);
    }
  });

  it('refuses while a run an older worker registered under the quoted name is active', async () => {
    await db.pool.query(`CREATE SCHEMA reg; CREATE TABLE reg.orders (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO cutover_runs (run_id, workflow_id, target, kind) VALUES ('old-run', 'old-wf', '"reg"."orders"', 'conversion')`);
    try {
      const err = await temporal.client.workflow.execute('heapToPartitionedConversion', {
        taskQueue, workflowId: `orders-while-old-${taskQueue}`, args: [{ table: 'reg.orders', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0 }],
      }).catch((e) => e);
      expect(rootMessage(err)).toMatch(/another run is active for reg\.orders: conversion workflow old-wf/);
      expect((await db.pool.query(`SELECT to_regclass('reg.orders_partitioned') AS t`)).rows[0].t).toBeNull();
    } finally {
      await db.pool.query(`DELETE FROM cutover_runs WHERE run_id = 'old-run'`);
    }
  });

  it('a conversion of public.memory_records is the active run for memory_records: the form without `table` is refused, the app sees it; an abort frees it', async () => {
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId: `mr-generic-${taskQueue}`, args: [{ ...MR, approvals: { beforeSwap: true } }] });
    await waitFor('the before-swap gate', async () => (await handle.query(statusQuery)).state === 'waiting-for-approval', 120_000);
    const reg = await db.pool.query(`SELECT target, kind FROM cutover_runs WHERE workflow_id = $1`, [handle.workflowId]);
    expect(reg.rows).toEqual([{ target: 'memory_records', kind: 'conversion' }]);
    // What the memory-layer app asks (src/memory-layer/instance-control.ts).
    expect((await db.pool.query(`SELECT EXISTS (SELECT 1 FROM cutover_runs WHERE target = 'memory_records' AND status = 'active') AS active`)).rows[0].active).toBe(true);
    const second = await temporal.client.workflow.execute('heapToPartitionedConversion', { taskQueue, workflowId: `mr-old-form-${taskQueue}`, args: [{ nonProduction: true, retentionMinutes: 0 }] }).catch((e) => e);
    expect(rootMessage(second)).toMatch(new RegExp(`another run is active for memory_records: conversion workflow ${handle.workflowId}`));
    await handle.executeUpdate(abortUpdate, { args: [{ operator: 'test-operator', reason: 'registry test done' }] });
    const summary = (await handle.result()) as GenericConversionSummary;
    expect(summary.outcome).toBe('aborted');
    expect((await db.pool.query(`SELECT status FROM cutover_runs WHERE workflow_id = $1`, [handle.workflowId])).rows).toEqual([{ status: 'aborted' }]);
    expect(await state()).toBe('r|-|0');
  }, 300_000);
});
