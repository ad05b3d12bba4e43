import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { resolveTimeSkippingServer } from '../../src/devenv/temporal-cli';
import { createProfileResolver } from '../../src/config/profiles';
import { createConversionActivities } from '../../activities/conversion';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { approveUpdate, statusQuery } from '../../workflows/messages';
import { useTestDatabase } from '../helpers/db';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './generic/shapes';
import { waitFor } from './harness';

/**
 * Mode attach's before-swap gate against the clock, on the time-skipping test server: the bound
 * chosen at preflight is a day or two ahead, and from the check's addition until the swap every
 * write at or beyond it is refused. A run left waiting at the gate (a weekend) must not let the
 * bound pass with the check in place: an hour before it, the run rolls back before the swap.
 * Generic load as the app role (real time), row oracle at zero.
 */
const db = useTestDatabase('heap');
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let tenv: TestWorkflowEnvironment;

beforeAll(async () => {
  const server = await resolveTimeSkippingServer();
  tenv = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: server.path } } });
  const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await tenv.connection.operatorService.addSearchAttributes({ namespace: tenv.namespace ?? 'default', searchAttributes: Object.fromEntries(CUSTOM_SEARCH_ATTRIBUTES.map((sa) => [sa.name, KEYWORD])) });
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
    CREATE TABLE shop.g (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL);
    INSERT INTO shop.g (placed_at, customer, total) SELECT now() - g * interval '5 hours', g % 13, g / 7.0 FROM generate_series(1, 800) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.g TO ${app}; GRANT USAGE ON SEQUENCE shop.g_id_seq TO ${app};
    CREATE TABLE shop.l (LIKE shop.g INCLUDING ALL); INSERT INTO shop.l SELECT * FROM shop.g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.l TO ${app}; GRANT USAGE ON SEQUENCE shop.g_id_seq TO ${app};`);
});
afterAll(async () => {
  await tenv?.teardown();
});

describe('mode attach: the before-swap gate and the bound', () => {
  it('a gate nobody approves ends an hour before the bound: rolled back before the swap (the check goes), saying why and what to do; no write lost', async () => {
    const table = 'shop.g';
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(table)))));
    const baseline = await readImages(db.pool, '"shop"."g"', key);
    const load = await startSqlLoad({ url: appUrl(), table, ratePerSec: 100, seed: 23, baseline, spreadDays: 30 });
    const profiles = createProfileResolver({ default: db.url });
    const worker = await Worker.create({ connection: tenv.nativeConnection, taskQueue: 'attach-gate', workflowBundle: { codePath: inject('workflowBundlePath') }, activities: createConversionActivities({ profiles }) });
    let s: GenericConversionSummary;
    try {
      s = await worker.runUntil(async () => {
        const h = await tenv.client.workflow.start('heapToPartitionedConversion', {
          taskQueue: 'attach-gate', workflowId: 'attach-gate',
          args: [{ table, mode: 'attach', partitionBy: { column: 'placed_at', interval: 'day' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: true } }],
        });
        // The gate names its deadline while it waits (time does not skip while the query polls: no result awaited yet).
        const waiting = await waitFor('the before-swap gate', async () => {
          const st = await h.query(statusQuery);
          return st.state === 'waiting-for-approval' ? st : undefined;
        }, 60_000);
        expect(waiting.waitingOn).toMatch(/approve by \S+Z: then the run rolls back before the swap/);
        expect((await db.pool.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE conrelid = 'shop.g'::regclass AND conname LIKE 'lichen_attach_bound%'`)).rows[0].n).toBe(1);
        // Nobody approves: the day until the bound passes on the test server's clock.
        return (await h.result()) as GenericConversionSummary;
      });
    } finally {
      await new Promise((r) => setTimeout(r, 300));
      await load.stop();
      await profiles.close();
    }
    expect(s.outcome, s.cause).toBe('rolled-back');
    expect(s.cause).toMatch(/before-swap was not approved by .*an hour before the bound .*rolled back before the swap.*start the run again/);
    expect(s.swap).toBeUndefined();
    expect(s.rollbacks).toEqual([expect.objectContaining({ branch: expect.stringMatching(/^before-swap: the bound check/) })]);
    const st = (await db.pool.query(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'shop.g'::regclass) AS k,
      (SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'shop.g'::regclass AND conname LIKE 'lichen_attach_bound%') AS checks,
      (SELECT count(*)::int FROM pg_class WHERE relname = 'g_pkey_history') AS key_index`)).rows[0];
    expect(st).toEqual({ k: 'r', checks: 0, key_index: 0 });
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(30);
    const v = await judgeRows(db.pool, '"shop"."g"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });

  it('the wait for an operator after the swap\'s lock timeouts ends an hour before the bound the same way; no write lost', async () => {
    const table = 'shop.l';
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(table)))));
    const baseline = await readImages(db.pool, '"shop"."l"', key);
    const load = await startSqlLoad({ url: appUrl(), table, ratePerSec: 100, seed: 29, baseline, spreadDays: 30 });
    const profiles = createProfileResolver({ default: db.url });
    const worker = await Worker.create({ connection: tenv.nativeConnection, taskQueue: 'attach-lock', workflowBundle: { codePath: inject('workflowBundlePath') }, activities: createConversionActivities({ profiles }) });
    const holder = await db.pool.connect();
    let s: GenericConversionSummary;
    try {
      s = await worker.runUntil(async () => {
        const h = await tenv.client.workflow.start('heapToPartitionedConversion', {
          taskQueue: 'attach-lock', workflowId: 'attach-lock',
          args: [{ table, mode: 'attach', partitionBy: { column: 'placed_at', interval: 'day' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: true }, swap: { lockTimeoutMs: 20 } }],
        });
        await waitFor('the before-swap gate', async () => (await h.query(statusQuery)).state === 'waiting-for-approval', 60_000);
        // A reader that does not let go: every try of the swap's lock times out.
        await holder.query('BEGIN');
        await holder.query('SELECT count(*) FROM shop.l');
        await h.executeUpdate(approveUpdate, { args: [{ operator: 'ops', reason: 'attach now', gate: 'before-swap' }] });
        const waiting = await waitFor('the operator decision after the lock timeouts', async () => {
          const st = await h.query(statusQuery);
          return st.state === 'waiting-for-operator' ? st : undefined;
        }, 120_000);
        expect(waiting.waitingOn).toMatch(/could not take its locks.*decide by \S+Z: then the run rolls back before the swap/);
        await holder.query('COMMIT');
        // Nobody decides: the clock reaches an hour before the bound.
        return (await h.result()) as GenericConversionSummary;
      });
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
      await new Promise((r) => setTimeout(r, 300));
      await load.stop();
      await profiles.close();
    }
    expect(s.outcome, s.cause).toBe('rolled-back');
    expect(s.cause).toMatch(/no decision on the swap's lock timeout by .*an hour before the bound .*rolled back before the swap/);
    const st = (await db.pool.query(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'shop.l'::regclass) AS k,
      (SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'shop.l'::regclass AND conname LIKE 'lichen_attach_bound%') AS checks`)).rows[0];
    expect(st).toEqual({ k: 'r', checks: 0 });
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(30);
    const v = await judgeRows(db.pool, '"shop"."l"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });
});
