import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from 'pg';
import { getCutoverHandle } from '../../src/client';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './generic/shapes';
import { killConversionWorkers, spawnConversionWorker, waitFor, waitForStatus } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);

const spawnWorker = (taskQueue: string) =>
  spawnConversionWorker({ TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: temporal.namespace, TASK_QUEUE: taskQueue, DB_URL: db.url, BUNDLE_PATH: temporal.workflowBundle.codePath });

beforeAll(async () => {
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
    CREATE TABLE shop.k (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL);
    INSERT INTO shop.k (placed_at, customer, total) SELECT now() - g * interval '3 minutes', g % 13, g / 7.0 FROM generate_series(1, 20000) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.k TO ${app}; GRANT USAGE ON SEQUENCE shop.k_id_seq TO ${app};
    CREATE TABLE shop.r (LIKE shop.k INCLUDING ALL);
    INSERT INTO shop.r SELECT * FROM shop.k;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.r TO ${app};
    CREATE TABLE shop.elsewhere (x int)`);
});
afterAll(killConversionWorkers);

/**
 * Mode attach's prepare is one long statement (the index CONCURRENTLY), no row loop. A worker
 * SIGKILLed inside it must not leave the build running for nobody (holding its lock against the
 * retry for as long as a 500 GB table takes) nor leave the run waiting for the hour-long
 * start-to-close timeout: the backend notices the lost client (client_connection_check_interval)
 * and aborts, the heartbeat timeout hands the prepare to another worker, which drops the INVALID
 * index left behind and builds it again. Generic load as the app role, row oracle at zero.
 */
describe('mode attach: a worker killed inside the index build', () => {
  it('the orphaned build stops, the prepare resumes on another worker, the run completes, nothing lost', async () => {
    const table = 'shop.k';
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(table)))));
    const baseline = await readImages(db.pool, '"shop"."k"', key);
    const load = await startSqlLoad({ url: appUrl(), table, ratePerSec: 80, seed: 5, baseline, spreadDays: 20 });
    const taskQueue = temporal.taskQueue('attach-crash');
    const first = await spawnWorker(taskQueue);
    // An open snapshot: the CONCURRENTLY build waits for it ("waiting for old snapshots"), so the kill lands inside the build.
    const holder: Client = await db.pool.connect() as unknown as Client;
    let summary: GenericConversionSummary;
    try {
      await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await holder.query('SELECT count(*) FROM shop.elsewhere');
      const workflowId = `attach-crash-${taskQueue}`;
      const raw = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId,
        args: [{ table, mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, copy: { heartbeatTimeoutSeconds: 3 } }],
      });
      await waitForStatus(raw, 'the attach prepare', (s) => s.phase === 'attach prepare', 60_000);
      const build = await waitFor('the index build, waiting for the open snapshot', async () => (await db.pool.query<{ pid: number; phase: string }>(
        `SELECT pid, phase FROM pg_stat_progress_create_index WHERE relid = 'shop.k'::regclass`)).rows[0], 60_000);
      first.kill('SIGKILL');
      // The orphaned backend aborts on its own within seconds (without the client check it would wait for the snapshot, then build on).
      await waitFor('the orphaned build to stop', async () => (await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [build.pid])).rows.length === 0, 30_000);
      const leftover = (await db.pool.query<{ valid: boolean }>(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass('shop.k_pkey_history')`)).rows[0];
      expect(leftover, 'the aborted build leaves its INVALID index behind').toMatchObject({ valid: false });
      await spawnWorker(taskQueue);
      await holder.query('COMMIT');
      summary = await getCutoverHandle<GenericConversionSummary>(temporal.client, workflowId).result();
      // The prepare ran twice: the first attempt on the killed worker, the second elsewhere.
      const history = await raw.fetchHistory();
      const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes && history.events!.find((s) => s.eventId?.toString() === e.activityTaskStartedEventAttributes!.scheduledEventId?.toString())?.activityTaskScheduledEventAttributes?.activityType?.name === 'attachPrepare')
        .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
      expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      (holder as unknown as { release(): void }).release();
      await new Promise((r) => setTimeout(r, 300));
      await load.stop();
    }
    expect(summary.outcome, summary.cause).toBe('completed');
    expect(summary.attach?.prepared).toMatchObject({ indexBuilt: true, validated: true });
    const st = (await db.pool.query(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'shop.k'::regclass) AS k,
      (SELECT count(*)::int FROM pg_index WHERE NOT indisvalid AND indrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'shop.k'::regclass)) AS invalid`)).rows[0];
    expect(st).toMatchObject({ k: 'p', invalid: 0 });
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(30);
    const v = await judgeRows(db.pool, '"shop"."k"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });

  it('an abort inside the index build stops it within seconds; a worker killed inside the rollback\'s DROP INDEX CONCURRENTLY: the orphaned drop stops, the rollback completes elsewhere', async () => {
    const table = 'shop.r';
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(table)))));
    const baseline = await readImages(db.pool, '"shop"."r"', key);
    const load = await startSqlLoad({ url: appUrl(), table, ratePerSec: 80, seed: 6, baseline, spreadDays: 20 });
    const taskQueue = temporal.taskQueue('attach-crash-r');
    const first = await spawnWorker(taskQueue);
    const holder: Client = await db.pool.connect() as unknown as Client;
    let summary: GenericConversionSummary;
    try {
      // An open snapshot holds the build ("waiting for old snapshots").
      await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await holder.query('SELECT count(*) FROM shop.elsewhere');
      const workflowId = `attach-crash-r-${taskQueue}`;
      await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId,
        args: [{ table, mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, copy: { heartbeatTimeoutSeconds: 3 } }],
      });
      const build = await waitFor('the index build, waiting for the open snapshot', async () => (await db.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_progress_create_index WHERE relid = 'shop.r'::regclass`)).rows[0], 90_000);
      // A lock on the table too (ACCESS SHARE: the build does not mind it): the rollback's DROP INDEX CONCURRENTLY waits for it.
      await holder.query('SELECT 1 FROM shop.r LIMIT 1');
      await getCutoverHandle(temporal.client, workflowId).abort({ operator: 'ops', reason: 'not this week' });
      await waitFor('the aborted build to stop', async () => (await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query ILIKE 'CREATE UNIQUE INDEX%'`, [build.pid])).rows.length === 0, 30_000);
      const drop = await waitFor('the rollback\'s DROP INDEX CONCURRENTLY, waiting for the lock', async () => (await db.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE query ILIKE 'DROP INDEX CONCURRENTLY%' AND state = 'active' AND datname = current_database()`)).rows[0], 60_000);
      first.kill('SIGKILL');
      await waitFor('the orphaned drop to stop', async () => (await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [drop.pid])).rows.length === 0, 30_000);
      await spawnWorker(taskQueue);
      await holder.query('COMMIT');
      summary = await getCutoverHandle<GenericConversionSummary>(temporal.client, workflowId).result();
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      (holder as unknown as { release(): void }).release();
      await new Promise((r) => setTimeout(r, 300));
      await load.stop();
    }
    expect(summary.outcome, summary.cause).toBe('aborted');
    const st = (await db.pool.query(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'shop.r'::regclass) AS k,
      (SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'shop.r'::regclass AND conname LIKE 'lichen_attach_bound%') AS checks,
      (SELECT count(*)::int FROM pg_class WHERE relname = 'r_pkey_history') AS key_index`)).rows[0];
    expect(st).toMatchObject({ k: 'r', checks: 0, key_index: 0 });
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(30);
    const v = await judgeRows(db.pool, '"shop"."r"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });
});
