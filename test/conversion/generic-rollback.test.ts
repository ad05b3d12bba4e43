import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { abortUpdate, approveUpdate, statusQuery } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { createGenericConversionActivities, type CopyGenericResult, type GenericInput } from '../../activities/conversion/generic/activities';
import { parseConversionChoice } from '../../src/conversion/choice/choice';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './generic/shapes';
import { startWorker, waitFor } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

const TABLE_SQL = (t: string) => `CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
  CREATE TABLE shop.${t} (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL);
  INSERT INTO shop.${t} (placed_at, customer, total) SELECT now() - g * interval '7 hours', g % 13, g / 7.0 FROM generate_series(1, 1000) g;
  CREATE VIEW shop.${t}_view AS SELECT id, total FROM shop.${t};
  GRANT SELECT, INSERT, UPDATE, DELETE ON shop.${t} TO ${app}; GRANT USAGE ON SEQUENCE shop.${t}_id_seq TO ${app};`;

const state = async (t: string) => (await db.pool.query(
  `SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k, to_regclass($1 || '_partitioned') AS shadow, to_regclass($1 || '_old') AS old,
          (SELECT count(*)::int FROM pg_trigger WHERE tgname LIKE 'lichen%') AS sync_triggers,
          (SELECT count(DISTINCT r.oid)::int FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid WHERE d.refobjid = to_regclass($1) AND r.ev_class = to_regclass($1 || '_view')) AS view_on_table`, [`shop.${t}`])).rows[0];

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-rollback');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(APP_ROLE_SQL(app));
  for (const t of ['a', 'b', 'c', 'd', 'e']) await db.pool.query(TABLE_SQL(t));
  await db.pool.query(`ALTER TABLE shop.e ADD CONSTRAINT e_total_key UNIQUE (total, id)`);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

async function abortAt(t: string, gate: 'before-swap' | 'drop-old-table'): Promise<GenericConversionSummary> {
  const table = `shop.${t}`;
  const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(table)))));
  const baseline = await readImages(db.pool, `"shop"."${t}"`, key);
  const load = await startSqlLoad({ url: appUrl(), table, ratePerSec: 100, seed: 7, baseline, spreadDays: 60 });
  let summary: GenericConversionSummary;
  try {
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId: `abort-${t}-${taskQueue}`,
      args: [{ table, partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: gate === 'before-swap' } }],
    });
    await waitFor(`the ${gate} gate`, async () => {
      const st = await handle.query(statusQuery);
      return st.state === 'waiting-for-approval' && (gate === 'before-swap' || st.phases.some((p) => p.phase === 'retention'));
    }, 60_000);
    await new Promise((r) => setTimeout(r, 400));
    await handle.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'change window closed' }] });
    summary = (await handle.result()) as GenericConversionSummary;
    await new Promise((r) => setTimeout(r, 300)); // writes go on after the rollback
  } finally {
    await load.stop();
  }
  expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(30);
  const v = await judgeRows(db.pool, `"shop"."${t}"`, key, baseline, load.log);
  expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  return summary;
}

describe('heapToPartitionedConversion of any table rolls back through the saga', () => {
  it('an abort before the swap removes the sync and the shadow; the table is untouched and no write is lost', async () => {
    const s = await abortAt('a', 'before-swap');
    expect(s.outcome).toBe('aborted');
    expect(s.rollbacks).toEqual([expect.objectContaining({ branch: expect.stringMatching(/^before-swap/) })]);
    expect(await state('a')).toMatchObject({ k: 'r', shadow: null, old: null, sync_triggers: 0, view_on_table: 1 });
  });

  it('an abort after the swap swaps back; the heap serves again with every write, sync and new table gone', async () => {
    const s = await abortAt('b', 'drop-old-table');
    expect(s.outcome).toBe('aborted');
    expect(s.swap).toBeDefined();
    expect(s.rollbacks).toEqual([expect.objectContaining({ branch: expect.stringMatching(/^after-swap/) })]);
    expect(await state('b')).toMatchObject({ k: 'r', shadow: null, old: null, sync_triggers: 0, view_on_table: 1 });
  });

  it('a table changed at the before-swap gate (a new unique key without the partition column) fails the swap naming it and rolls back cleanly', async () => {
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId: `changed-d-${taskQueue}`,
      args: [{ table: 'shop.d', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0 }],
    });
    await waitFor('the before-swap gate', async () => (await handle.query(statusQuery)).state === 'waiting-for-approval', 60_000);
    await db.pool.query(`CREATE UNIQUE INDEX d_total_customer_key ON shop.d (total, customer, id)`);
    await handle.executeUpdate(approveUpdate, { args: [{ operator: 'ops', reason: 'parity seen', gate: 'before-swap' }] });
    const s = (await handle.result()) as GenericConversionSummary;
    expect(s.outcome).toBe('rolled-back');
    expect(s.cause).toMatch(/unique-without-partition-column d_total_customer_key.*changed since preflight/);
    expect(await state('d')).toMatchObject({ k: 'r', shadow: null, old: null, sync_triggers: 0, view_on_table: 1 });
  });

  it('an option chosen for a blocker is approved before the swap even with approvals.beforeSwap false', async () => {
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId: `option-e-${taskQueue}`,
      args: [{ table: 'shop.e', partitionBy: { column: 'placed_at', interval: 'month' }, options: { uniqueKeys: { e_total_key: 'drop' } }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false } }],
    });
    await waitFor('the before-swap gate', async () => (await handle.query(statusQuery)).state === 'waiting-for-approval', 60_000);
    expect((await handle.query(statusQuery)).waitingOn).toMatch(/before-swap.*unique-without-partition-column e_total_key: drop/);
    await handle.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'not today' }] });
    expect(((await handle.result()) as GenericConversionSummary).outcome).toBe('aborted');
    expect(await state('e')).toMatchObject({ k: 'r', shadow: null, old: null, sync_triggers: 0, view_on_table: 1 });
  });

  it('every activity run twice (a retry after a crash) neither fails nor applies twice', async () => {
    const acts = createGenericConversionActivities({ profiles: env.profiles });
    const io: GenericInput = { profile: 'default', choice: parseConversionChoice({ table: 'shop.c', partitionBy: { column: 'placed_at', interval: 'month' } }), planAt: Date.now(), lockTimeoutMs: 500 };
    const mock = new MockActivityEnvironment();
    await acts.planGenericConversion({ ...io, runId: 'twice', workflowId: 'twice' });
    expect(await acts.createGenericShadow(io)).toEqual({ created: true });
    expect(await acts.createGenericShadow(io)).toEqual({ created: false });
    expect((await acts.installGenericSync(io)).installed).toBe(true);
    expect((await acts.installGenericSync(io)).installed).toBe(false);
    const first = (await mock.run(acts.copyGeneric, { ...io, batchSize: 100 })) as { rows: number };
    const again = (await mock.run(acts.copyGeneric, { ...io, batchSize: 100 })) as { rows: number };
    expect(first.rows).toBe(again.rows);
    // A retry after a crash resumes from the heartbeated checkpoint (the third batch's) and ends where a whole run ends.
    const beats: unknown[] = [];
    const watched = new MockActivityEnvironment();
    watched.on('heartbeat', (d: unknown) => beats.push(d));
    const whole = (await watched.run(acts.copyGeneric, { ...io, batchSize: 100 })) as { rows: number; batches: number };
    expect(beats.length).toBe(whole.batches);
    const resumed = (await new MockActivityEnvironment({ heartbeatDetails: beats[2] }).run(acts.copyGeneric, { ...io, batchSize: 100 })) as { rows: number; batches: number; resumed: boolean };
    expect(resumed).toEqual({ ...whole, resumed: true });
    // In slices (the workflow's path): a call ends after its first batch, the next continues from its checkpoint; together they copy what one call copies.
    let slice = (await new MockActivityEnvironment().run(acts.copyGeneric, { ...io, batchSize: 100, sliceSeconds: 0 })) as CopyGenericResult;
    for (let calls = 1; slice.done === false && calls < 1000; calls++) {
      expect(slice.checkpoint!.batches).toBe(calls);
      slice = (await new MockActivityEnvironment().run(acts.copyGeneric, { ...io, batchSize: 100, sliceSeconds: 0, from: slice.checkpoint })) as CopyGenericResult;
    }
    expect(slice).toEqual({ ...whole, resumed: false, done: true });
    // Cancelled (an abort) after its first batch: the copy stops at the next batch instead of copying on to its end.
    const cancelled = new MockActivityEnvironment();
    let heartbeats = 0;
    cancelled.on('heartbeat', () => {
      if (++heartbeats === 1) cancelled.cancel();
    });
    await expect(cancelled.run(acts.copyGeneric, { ...io, batchSize: 100 })).rejects.toBeInstanceOf(CancelledFailure);
    expect(heartbeats).toBe(1);
    expect(whole.batches).toBeGreaterThan(2);
    expect(((await mock.run(acts.genericParity, io)) as { match: boolean }).match).toBe(true); // heartbeats: runs in an activity context
    const post = await acts.genericPostSwapStatements(io);
    expect((await acts.swapGeneric(io)).swapped).toBe(true);
    expect((await acts.swapGeneric(io)).swapped).toBe(false);
    expect(((await mock.run(acts.genericPostSwapParity, { profile: 'default', post })) as { match: boolean }).match).toBe(true); // per range, heartbeating: in an activity context
    await expect(acts.rollbackGenericBeforeSwap(io)).rejects.toThrow(/is swapped: swap back first/);
    const back = await acts.swapBackGeneric({ profile: 'default', post, lockTimeoutMs: 500 });
    expect(back).toMatchObject({ swappedBack: true, droppedPartitioned: true });
    expect(typeof back.lockMs).toBe('number'); // the swap back's lock time (the metric and the audit report read it)
    expect(await acts.swapBackGeneric({ profile: 'default', post, lockTimeoutMs: 500 })).toEqual({ swappedBack: false });
    await acts.rollbackGenericBeforeSwap(io);
    await acts.rollbackGenericBeforeSwap(io);
    expect(await state('c')).toMatchObject({ k: 'r', shadow: null, old: null, sync_triggers: 0, view_on_table: 1 });
    // And forward to the end: the drop twice.
    await acts.createGenericShadow(io);
    await acts.installGenericSync(io);
    await mock.run(acts.copyGeneric, { ...io, batchSize: 100 });
    const post2 = await acts.genericPostSwapStatements(io);
    await acts.swapGeneric(io);
    expect(await acts.dropGenericOld({ profile: 'default', post: post2, lockTimeoutMs: 500 })).toEqual({ dropped: true });
    expect(await acts.dropGenericOld({ profile: 'default', post: post2, lockTimeoutMs: 500 })).toEqual({ dropped: false });
    expect(await state('c')).toMatchObject({ k: 'p', shadow: null, old: null, sync_triggers: 0, view_on_table: 1 });
  });
});
