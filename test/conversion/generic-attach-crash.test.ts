import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import type { Client } from 'pg';
import { getCutoverHandle } from '../../src/client';
import { abortUpdate } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { APP_ROLE_SQL } from './generic/shapes';
import { killConversionWorkers, spawnConversionWorker, waitFor, waitForStatus, underGenericLoad } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);

const spawnWorker = (taskQueue: string) =>
  spawnConversionWorker({ TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: temporal.namespace, TASK_QUEUE: taskQueue, DB_URL: db.url, BUNDLE_PATH: temporal.workflowBundle.codePath });

/** Three tables of the same shape (20k rows over ~40 days): one per case, each converted in mode attach. */
const TABLE_SQL = (t: string) => `CREATE TABLE shop.${t} (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL);
    INSERT INTO shop.${t} (placed_at, customer, total) SELECT now() - g * interval '3 minutes', g % 13, g / 7.0 FROM generate_series(1, 20000) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.${t} TO ${app}; GRANT USAGE ON SEQUENCE shop.${t}_id_seq TO ${app};`;

beforeAll(async () => {
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
    ${TABLE_SQL('k')} ${TABLE_SQL('r')} ${TABLE_SQL('s')}
    CREATE TABLE shop.elsewhere (x int)`);
});
afterAll(killConversionWorkers);

const attachInput = (table: string, extra: Record<string, unknown>) =>
  ({ table, mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, copy: { heartbeatTimeoutSeconds: 3 }, ...extra });

interface Scene { taskQueue: string; workflowId: string; first: ChildProcess; holder: Client }

/**
 * One case: the generic load as the app role on `shop.<t>`, a first worker process to kill, and a
 * session (`holder`) the case uses to hold a long statement in place (an open snapshot makes a
 * CONCURRENTLY build wait, a lock makes DROP INDEX CONCURRENTLY wait). Returns the run's summary
 * once the row oracle has judged the load: nothing missing, stale, resurrected or extra.
 */
async function killedWorkerCase(t: string, seed: number, run: (x: Scene) => Promise<GenericConversionSummary>): Promise<GenericConversionSummary> {
  return underGenericLoad(db, appUrl(), `shop.${t}`, { seed }, async () => {
    const taskQueue = temporal.taskQueue(`attach-crash-${t}`);
    const first = await spawnWorker(taskQueue);
    const holder: Client = await db.pool.connect() as unknown as Client;
    try {
      return await run({ taskQueue, workflowId: `attach-crash-${t}-${taskQueue}`, first, holder });
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      (holder as unknown as { release(): void }).release();
    }
  });
}

/** An open snapshot: a CONCURRENTLY build waits for it ("waiting for old snapshots"), so a kill lands inside the build. */
async function holdSnapshot(holder: Client): Promise<void> {
  await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  await holder.query('SELECT count(*) FROM shop.elsewhere');
}

/** The backend `pid` no longer runs its statement (`active`: only its active state counts). */
const statementGone = (what: string, pid: number, activeOnly = false) =>
  waitFor(what, async () => (await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1${activeOnly ? " AND state = 'active'" : ''}`, [pid])).rows.length === 0, 30_000);

const buildOn = (t: string, timeoutMs: number) => waitFor('the index build, waiting for the open snapshot', async () => (await db.pool.query<{ pid: number }>(
  `SELECT pid FROM pg_stat_progress_create_index WHERE relid = $1::regclass`, [`shop.${t}`])).rows[0], timeoutMs);

/**
 * Mode attach's long statements (the index CONCURRENTLY of the prepare, the rollback's DROP INDEX
 * CONCURRENTLY, the swap back's key rebuild) have no row loop. A worker SIGKILLed inside one must
 * not leave it running for nobody (holding its lock against the retry for as long as a 500 GB
 * table takes) nor leave the run waiting for an hour-long start-to-close timeout: the backend
 * notices the lost client (client_connection_check_interval) and aborts, the heartbeat timeout
 * hands the activity to another worker, which drops the INVALID index left behind and goes on.
 */
describe('mode attach: a worker killed inside a long statement', () => {
  it('the orphaned build stops, the prepare resumes on another worker, the run completes, nothing lost', async () => {
    const summary = await killedWorkerCase('k', 5, async ({ taskQueue, workflowId, first, holder }) => {
      await holdSnapshot(holder);
      const raw = await temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId, args: [attachInput('shop.k', { retentionMinutes: 0, approvals: { beforeSwap: false } })] });
      await waitForStatus(raw, 'the attach prepare', (s) => s.phase === 'attach prepare', 60_000);
      const build = await buildOn('k', 60_000);
      first.kill('SIGKILL');
      // The orphaned backend aborts on its own within seconds (without the client check it would wait for the snapshot, then build on).
      await statementGone('the orphaned build to stop', build.pid);
      const leftover = (await db.pool.query<{ valid: boolean }>(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass('shop.k_pkey_history')`)).rows[0];
      expect(leftover, 'the aborted build leaves its INVALID index behind').toMatchObject({ valid: false });
      await spawnWorker(taskQueue);
      await holder.query('COMMIT');
      const s = await getCutoverHandle<GenericConversionSummary>(temporal.client, workflowId).result();
      // The prepare ran twice: the first attempt on the killed worker, the second elsewhere.
      const history = await raw.fetchHistory();
      const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes && history.events!.find((x) => x.eventId?.toString() === e.activityTaskStartedEventAttributes!.scheduledEventId?.toString())?.activityTaskScheduledEventAttributes?.activityType?.name === 'attachPrepare')
        .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
      expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
      return s;
    });
    expect(summary.outcome, summary.cause).toBe('completed');
    expect(summary.attach?.prepared).toMatchObject({ indexBuilt: true, validated: true });
    const st = (await db.pool.query(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'shop.k'::regclass) AS k,
      (SELECT count(*)::int FROM pg_index WHERE NOT indisvalid AND indrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'shop.k'::regclass)) AS invalid`)).rows[0];
    expect(st).toMatchObject({ k: 'p', invalid: 0 });
  });

  it('an abort inside the index build stops it within seconds; a worker killed inside the rollback\'s DROP INDEX CONCURRENTLY: the orphaned drop stops, the rollback completes elsewhere', async () => {
    const summary = await killedWorkerCase('r', 6, async ({ taskQueue, workflowId, first, holder }) => {
      await holdSnapshot(holder);
      await temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId, args: [attachInput('shop.r', { retentionMinutes: 0 })] });
      const build = await buildOn('r', 90_000);
      // A lock on the table too (ACCESS SHARE: the build does not mind it): the rollback's DROP INDEX CONCURRENTLY waits for it.
      await holder.query('SELECT 1 FROM shop.r LIMIT 1');
      await getCutoverHandle(temporal.client, workflowId).abort({ operator: 'ops', reason: 'not this week' });
      await waitFor('the aborted build to stop', async () => (await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query ILIKE 'CREATE UNIQUE INDEX%'`, [build.pid])).rows.length === 0, 30_000);
      const drop = await waitFor('the rollback\'s DROP INDEX CONCURRENTLY, waiting for the lock', async () => (await db.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE query ILIKE 'DROP INDEX CONCURRENTLY%' AND state = 'active' AND datname = current_database()`)).rows[0], 60_000);
      first.kill('SIGKILL');
      await statementGone('the orphaned drop to stop', drop.pid, true);
      await spawnWorker(taskQueue);
      await holder.query('COMMIT');
      return getCutoverHandle<GenericConversionSummary>(temporal.client, workflowId).result();
    });
    expect(summary.outcome, summary.cause).toBe('aborted');
    const st = (await db.pool.query(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'shop.r'::regclass) AS k,
      (SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'shop.r'::regclass AND conname LIKE 'lichen_attach_bound%') AS checks,
      (SELECT count(*)::int FROM pg_class WHERE relname = 'r_pkey_history') AS key_index`)).rows[0];
    expect(st).toMatchObject({ k: 'r', checks: 0, key_index: 0 });
  });

  // The swap back ends with the heap's original key rebuilt CONCURRENTLY (hours on a large table, like the prepare's build).
  it('a worker killed inside the swap back\'s key rebuild: the rollback resumes on another worker within the heartbeat timeout, the heap gets its own key back, nothing lost', async () => {
    const summary = await killedWorkerCase('s', 9, async ({ taskQueue, workflowId, first, holder }) => {
      const raw = await temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId, args: [attachInput('shop.s', { retentionMinutes: 30, retentionCheckMinutes: 0.05, approvals: { beforeSwap: false } })] });
      await waitForStatus(raw, 'the retention window', (s) => s.phase === 'retention', 120_000);
      // The key's rebuild waits for the open snapshot, so the kill lands inside the build (the swap back's transaction does not wait for it).
      await holdSnapshot(holder);
      await raw.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'back out' }] });
      const build = await buildOn('s', 60_000);
      first.kill('SIGKILL');
      await statementGone('the orphaned build to stop', build.pid);
      await spawnWorker(taskQueue);
      await holder.query('COMMIT');
      // Well within the undo's start-to-close (an hour): only the heartbeat timeout brings the retry this soon.
      return waitFor('the rolled-back run', async () => {
        const d = await raw.describe();
        return d.status.name === 'RUNNING' ? undefined : await getCutoverHandle<GenericConversionSummary>(temporal.client, workflowId).result();
      }, 120_000);
    });
    expect(summary.outcome, summary.cause).toBe('aborted');
    expect(summary.rollbacks).toEqual([expect.objectContaining({ branch: expect.stringMatching(/^after-swap: history partition detached/) })]);
    expect(summary.attach?.keyRestored).toBe(true);
    const st = (await db.pool.query(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'shop.s'::regclass) AS k,
      (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'shop.s'::regclass AND contype = 'p') AS pk,
      (SELECT count(*)::int FROM pg_index WHERE indrelid = 'shop.s'::regclass AND NOT indisvalid) AS invalid`)).rows[0];
    expect(st).toEqual({ k: 'r', pk: 'PRIMARY KEY (id)', invalid: 0 });
  });
});
