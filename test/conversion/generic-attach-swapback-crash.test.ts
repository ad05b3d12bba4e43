import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from 'pg';
import { getCutoverHandle } from '../../src/client';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { abortUpdate } from '../../workflows/messages';
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
    CREATE TABLE shop.s (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL);
    INSERT INTO shop.s (placed_at, customer, total) SELECT now() - g * interval '3 minutes', g % 13, g / 7.0 FROM generate_series(1, 20000) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.s TO ${app}; GRANT USAGE ON SEQUENCE shop.s_id_seq TO ${app};
    CREATE TABLE shop.elsewhere (x int)`);
});
afterAll(killConversionWorkers);

/**
 * The swap back of mode attach ends with the heap's original key rebuilt CONCURRENTLY: hours on a
 * large table, like the prepare's build. A worker SIGKILLed inside it must not leave the rollback
 * waiting for a start-to-close timeout it cannot meet (the rebuild would outlast every attempt):
 * the swap back heartbeats, so another worker takes over after the run's heartbeat timeout, drops
 * the INVALID index the aborted build left and builds it again. Generic load as the app role,
 * row oracle at zero.
 */
describe('mode attach: a worker killed inside the swap back\'s key rebuild', () => {
  it('the rollback resumes on another worker within the heartbeat timeout, the heap gets its own key back, nothing lost', async () => {
    const table = 'shop.s';
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(table)))));
    const baseline = await readImages(db.pool, '"shop"."s"', key);
    const load = await startSqlLoad({ url: appUrl(), table, ratePerSec: 80, seed: 9, baseline, spreadDays: 20 });
    const taskQueue = temporal.taskQueue('attach-swapback-crash');
    const first = await spawnWorker(taskQueue);
    const holder: Client = await db.pool.connect() as unknown as Client;
    let summary: GenericConversionSummary;
    try {
      const workflowId = `attach-swapback-crash-${taskQueue}`;
      const raw = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId,
        args: [{ table, mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 30, retentionCheckMinutes: 0.05, approvals: { beforeSwap: false }, copy: { heartbeatTimeoutSeconds: 3 } }],
      });
      await waitForStatus(raw, 'the retention window', (s) => s.phase === 'retention', 120_000);
      // An open snapshot: the key's CONCURRENTLY rebuild waits for it, so the kill lands inside the build (the swap back's transaction does not wait for it).
      await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await holder.query('SELECT count(*) FROM shop.elsewhere');
      await raw.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'back out' }] });
      const build = await waitFor('the key rebuild, waiting for the open snapshot', async () => (await db.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_progress_create_index WHERE relid = 'shop.s'::regclass`)).rows[0], 60_000);
      first.kill('SIGKILL');
      await waitFor('the orphaned build to stop', async () => (await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [build.pid])).rows.length === 0, 30_000);
      await spawnWorker(taskQueue);
      await holder.query('COMMIT');
      // Well within the undo's start-to-close (an hour): only the heartbeat timeout brings the retry this soon.
      summary = await waitFor('the rolled-back run', async () => {
        const d = await raw.describe();
        return d.status.name === 'RUNNING' ? undefined : await getCutoverHandle<GenericConversionSummary>(temporal.client, workflowId).result();
      }, 120_000);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      (holder as unknown as { release(): void }).release();
      await new Promise((r) => setTimeout(r, 300));
      await load.stop();
    }
    expect(summary.outcome, summary.cause).toBe('aborted');
    expect(summary.rollbacks).toEqual([expect.objectContaining({ branch: expect.stringMatching(/^after-swap: history partition detached/) })]);
    expect(summary.attach?.keyRestored).toBe(true);
    const st = (await db.pool.query(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'shop.s'::regclass) AS k,
      (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'shop.s'::regclass AND contype = 'p') AS pk,
      (SELECT count(*)::int FROM pg_index WHERE indrelid = 'shop.s'::regclass AND NOT indisvalid) AS invalid`)).rows[0];
    expect(st).toEqual({ k: 'r', pk: 'PRIMARY KEY (id)', invalid: 0 });
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(30);
    const v = await judgeRows(db.pool, '"shop"."s"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });
});
