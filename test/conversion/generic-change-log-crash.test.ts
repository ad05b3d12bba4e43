import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import type { PoolClient } from 'pg';
import { getCutoverHandle } from '../../src/client';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { APP_ROLE_SQL } from './generic/shapes';
import { killConversionWorkers, spawnConversionWorker, waitFor, waitForStatus, underGenericLoad } from './harness';

/**
 * Issue 25 item 2 on the change-log engine, through the workflow with worker processes: a worker
 * SIGKILLed in the middle of a partition (filled, not yet swapped in: held at its swap-in by a lock
 * the test holds) and another in the middle of the log's replay (held by a row lock on the log);
 * an abort while a lane is busy stops the copy (the lanes' queries cancelled) and rolls back.
 * The generic load as the unprivileged role throughout, the row oracle at zero. Locks, not
 * timing, put each kill where it belongs.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const ROWS = 20_000;

const ledger = (t: string) => `CREATE TABLE shop.${t} (id bigserial PRIMARY KEY, booked_at timestamptz NOT NULL DEFAULT now(), account int NOT NULL, amount numeric(14,2) NOT NULL, memo text);
  CREATE INDEX ${t}_account_idx ON shop.${t} (account);
  INSERT INTO shop.${t} (booked_at, account, amount, memo) SELECT now() - (g % 90) * interval '1 day' - g * interval '1 second', g % 41, g / 3.0, 'm' || g FROM generate_series(1, ${ROWS}) g;
  GRANT SELECT, INSERT, UPDATE, DELETE ON shop.${t} TO ${app}; GRANT USAGE ON SEQUENCE shop.${t}_id_seq TO ${app};`;

const spawnWorker = (taskQueue: string) =>
  spawnConversionWorker({ TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: temporal.namespace, TASK_QUEUE: taskQueue, DB_URL: db.url, BUNDLE_PATH: temporal.workflowBundle.codePath });

beforeAll(async () => {
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app}`);
});
afterAll(killConversionWorkers);

const underLoad = <T>(table: string, body: () => Promise<T>): Promise<T> => underGenericLoad(db, appUrl(), table, { seed: 12 }, body);

/** A session holding locks until `release`. */
async function holder(): Promise<{ c: PoolClient; release: () => Promise<void> }> {
  const c = await db.pool.connect();
  await c.query('BEGIN');
  return { c, release: async () => { await c.query('COMMIT'); c.release(); } };
}

/** Holds the heap so the sync's installation waits (SHARE UPDATE EXCLUSIVE: the app's writes go on), then one partition of the shadow, then lets the sync go. */
async function holdFirstPartition(shape: string): Promise<{ partition: string; release: () => Promise<void> }> {
  const heap = await holder();
  await heap.c.query(`LOCK TABLE shop.${shape} IN SHARE UPDATE EXCLUSIVE MODE`);
  const partition = await waitFor('the shadow and its partitions', async () => (await db.pool.query<{ p: string }>(
    `SELECT c.relname AS p FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1) ORDER BY c.relname LIMIT 1`, [`shop.${shape}_partitioned`])).rows[0]?.p, 60_000);
  const part = await holder();
  await part.c.query(`LOCK TABLE shop.${partition} IN ACCESS SHARE MODE`);
  await heap.release();
  return { partition, release: part.release };
}

const waiting = (pattern: string) => async () => Number((await db.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [pattern])).rows[0].n) > 0;
const relkinds = async (shape: string) => (await db.pool.query(
  `SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k, to_regclass($1 || '_old') AS old, to_regclass($1 || '_partitioned') AS shadow, to_regclass($1 || '_lichen_log') AS log,
          (SELECT count(*)::int FROM pg_class WHERE relname LIKE $2) AS fills, (SELECT count(*)::int FROM pg_trigger WHERE tgname LIKE 'lichen%' AND tgrelid = to_regclass($1)) AS triggers`,
  [`shop.${shape}`, `${shape}%lichen_fill`])).rows[0];

describe('the change-log engine: worker killed mid-partition and mid-replay, abort during the copy', () => {
  it('a worker killed in the middle of a partition and another in the middle of the replay: the partition is redone, the replay goes on, the run completes', async () => {
    const shape = 'ledger_kill';
    await db.pool.query(ledger(shape));
    const taskQueue = temporal.taskQueue('clcrash');
    const workers: ChildProcess[] = [await spawnWorker(taskQueue)];
    let held = '';
    const summary = await underLoad(`shop.${shape}`, async () => {
      const workflowId = `clcrash-${taskQueue}`;
      const raw = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId,
        args: [{ table: `shop.${shape}`, partitionBy: { column: 'booked_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, copy: { heartbeatTimeoutSeconds: 3, parallelism: 2 } }],
      });
      const h = getCutoverHandle<GenericConversionSummary>(temporal.client, workflowId);
      await waitForStatus(raw, 'the first task', (s) => s.phases.length > 0);
      await h.approve({ operator: 'ops', reason: 'drop the old table once retention is clean', gate: 'drop-old-table' });
      const part = await holdFirstPartition(shape);
      // The replay will meet a row lock on the log's first entry (the app's writes append beside it).
      await waitFor('a logged write', async () => Number((await db.pool.query(`SELECT count(*)::int AS n FROM shop.${shape}_lichen_log`)).rows[0].n) > 0, 30_000);
      const entry = await holder();
      await entry.c.query(`SELECT seq FROM shop.${shape}_lichen_log ORDER BY seq LIMIT 1 FOR UPDATE`);
      // A lane has filled the held partition's plain table and waits to swap it in: kill the worker there.
      await waitFor('a lane at its swap-in', waiting('DROP TABLE %'), 60_000);
      expect((await relkinds(shape)).shadow).not.toBeNull();
      // The server has a heartbeat of the copy (its checkpoint): the retry gets it and resumes from it.
      await waitFor('a heartbeat of the copy', async () => (await raw.describe()).raw.pendingActivities?.some((a) => a.activityType?.name === 'copyGenericSnapshot' && (a.heartbeatDetails?.payloads?.length ?? 0) > 0), 30_000);
      held = part.partition;
      workers[0].kill('SIGKILL');
      workers.push(await spawnWorker(taskQueue));
      await part.release();
      // The next worker redoes that partition under a new snapshot, then replays: held by the row lock, killed there.
      await waitFor('the replay, held', waiting('CREATE TEMP TABLE lichen_log_keys%'), 90_000);
      workers[1].kill('SIGKILL');
      workers.push(await spawnWorker(taskQueue));
      await entry.release();
      return h.result();
    });
    expect(summary.outcome, summary.cause).toBe('completed');
    expect(summary.copy?.resumed).toBe(true);
    // The one retry of the copy went on from the heartbeated checkpoint, at the partition it had not swapped in.
    expect(summary.copy?.resumes).toHaveLength(1);
    expect(summary.copy?.resumes?.[0]).toMatchObject({ attempt: 2, resumedAt: held, partitionsBefore: expect.any(Number), rowsBefore: expect.any(Number) });
    expect(summary.copy?.slices).toBeGreaterThanOrEqual(1);
    expect(summary.droppedOldTable).toBe(true);
    expect(await relkinds(shape)).toMatchObject({ k: 'p', old: null, shadow: null, log: null, fills: 0 });
  });

  it('an abort while a lane is busy cancels the lanes\' queries, and the run rolls back: the table untouched, log, shadow and plain tables gone', async () => {
    const shape = 'ledger_abort';
    await db.pool.query(ledger(shape));
    const taskQueue = temporal.taskQueue('clabort');
    await spawnWorker(taskQueue);
    const summary = await underLoad(`shop.${shape}`, async () => {
      const workflowId = `clabort-${taskQueue}`;
      // A lock wait of 10 s per try, retried: a lane the abort did not reach would wait minutes.
      const raw = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId,
        args: [{ table: `shop.${shape}`, partitionBy: { column: 'booked_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, swap: { lockTimeoutMs: 10_000 }, copy: { heartbeatTimeoutSeconds: 3 } }],
      });
      await waitForStatus(raw, 'the first task', (s) => s.phases.length > 0);
      const part = await holdFirstPartition(shape);
      await waitFor('a lane at its swap-in', waiting('DROP TABLE %'), 60_000);
      await getCutoverHandle(temporal.client, workflowId).abort({ operator: 'ops', reason: 'not today' });
      // The copy activity ended (its cancellation completed) while the lock is still held: the lane's query was cancelled.
      await waitForStatus(raw, 'the rollback', (s) => s.state === 'rolling-back' || s.state === 'aborted', 60_000);
      expect(await waiting('DROP TABLE %')(), 'no lane still waits').toBe(false);
      await part.release();
      return getCutoverHandle<GenericConversionSummary>(temporal.client, workflowId).result();
    });
    expect(summary.outcome).toBe('aborted');
    expect(await relkinds(shape)).toMatchObject({ k: 'r', old: null, shadow: null, log: null, fills: 0, triggers: 0 });
  });
});
