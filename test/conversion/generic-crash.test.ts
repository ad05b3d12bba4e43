import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { getCutoverHandle } from '../../src/client';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { APP_ROLE_SQL } from './generic/shapes';
import { killConversionWorkers, spawnConversionWorker, waitFor, waitForStatus, underGenericLoad } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const ROWS = 30_000;

/** Two shapes of different kinds: a serial key by month on timestamptz; a uuid key with jsonb and an array by day on a date. */
const SHAPES = {
  ledger: {
    partitionBy: { column: 'booked_at', interval: 'month' },
    sql: (t: string) => `CREATE TABLE shop.${t} (id bigserial PRIMARY KEY, booked_at timestamptz NOT NULL DEFAULT now(), account int NOT NULL, amount numeric(14,2) NOT NULL, memo text);
      CREATE INDEX ${t}_account_idx ON shop.${t} (account);
      INSERT INTO shop.${t} (booked_at, account, amount, memo) SELECT now() - (g % 90) * interval '1 day' - g * interval '1 second', g % 41, g / 3.0, 'm' || g FROM generate_series(1, ${ROWS}) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON shop.${t} TO ${app}; GRANT USAGE ON SEQUENCE shop.${t}_id_seq TO ${app};`,
  },
  readings: {
    partitionBy: { column: 'taken_on', interval: 'day' },
    sql: (t: string) => `CREATE TABLE shop.${t} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), taken_on date NOT NULL DEFAULT current_date, sensor text NOT NULL, payload jsonb NOT NULL DEFAULT '{}', tags text[] NOT NULL DEFAULT '{}');
      INSERT INTO shop.${t} (taken_on, sensor, payload, tags) SELECT current_date - (g % 20), 's' || (g % 17), jsonb_build_object('v', g, 'ok', g % 2 = 0), ARRAY['t' || (g % 5)] FROM generate_series(1, ${ROWS}) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON shop.${t} TO ${app};`,
  },
} as const;

const spawnWorker = (taskQueue: string) =>
  spawnConversionWorker({ TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: temporal.namespace, TASK_QUEUE: taskQueue, DB_URL: db.url, BUNDLE_PATH: temporal.workflowBundle.codePath });

beforeAll(async () => {
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app}`);
});
afterAll(killConversionWorkers);

const underLoad = <T>(table: string, body: () => Promise<T>): Promise<T> => underGenericLoad(db, appUrl(), table, { seed: 11 }, body);

/**
 * Issue 13: a worker SIGKILLed during the copy of a user's table is replaced, and the copy
 * resumes from its heartbeated key cursor, not from zero — on two shapes; and a rollback after
 * the swap on the second shape (the first's is in generic-rollback.test.ts). Generic load as the
 * unprivileged role throughout, row oracle at zero.
 */
describe('heapToPartitionedConversion of any table: worker killed during the copy', () => {
  for (const [shape, def] of Object.entries(SHAPES)) {
    it(`${shape}: the copy resumes from its checkpoint on another worker, and the run completes`, async () => {
      const table = `shop.${shape}`;
      await db.pool.query(def.sql(shape));
      const taskQueue = temporal.taskQueue(`gcrash-${shape}`);
      const first = await spawnWorker(taskQueue);
      const summary = await underLoad(table, async () => {
        const workflowId = `gcrash-${shape}-${taskQueue}`;
        const raw = await temporal.client.workflow.start('heapToPartitionedConversion', {
          taskQueue, workflowId,
          // ~8 s of paced copy; a silent worker is declared gone after 3 s.
          args: [{ table, partitionBy: def.partitionBy, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, copy: { batchSize: 500, maxRowsPerSecond: 4000, heartbeatTimeoutSeconds: 3 } }],
        });
        const h = getCutoverHandle<GenericConversionSummary>(temporal.client, workflowId);
        await waitForStatus(raw, 'the first task', (s) => s.phases.length > 0);
        await h.approve({ operator: 'ops', reason: 'drop the old table once retention is clean', gate: 'drop-old-table' });
        await waitForStatus(raw, 'the copy', (s) => s.phase === 'copy', 60_000);
        await waitFor('a few thousand rows copied', async () => Number((await db.pool.query(`SELECT count(*) AS n FROM shop.${shape}_partitioned`)).rows[0].n) > 6000, 30_000);
        first.kill('SIGKILL');
        await spawnWorker(taskQueue);
        return h.result();
      });
      expect(summary.outcome, summary.cause).toBe('completed');
      expect(summary.copy?.resumed).toBe(true);
      // Only the batches after the last checkpoint were copied twice.
      expect(summary.copy!.rows).toBeLessThan(ROWS * 1.25);
      expect(summary.droppedOldTable).toBe(true);
      const k = await db.pool.query(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k, to_regclass($1 || '_old') AS old, to_regclass($1 || '_partitioned') AS shadow`, [table]);
      expect(k.rows[0]).toMatchObject({ k: 'p', old: null, shadow: null });
    });
  }

  it('readings: an abort after the swap swaps back with every write, on the second shape too', async () => {
    const table = 'shop.readings_b';
    await db.pool.query(SHAPES.readings.sql('readings_b'));
    const taskQueue = temporal.taskQueue('gabort-readings');
    await spawnWorker(taskQueue);
    const summary = await underLoad(table, async () => {
      const workflowId = `gabort-readings-${taskQueue}`;
      const raw = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId,
        args: [{ table, partitionBy: SHAPES.readings.partitionBy, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false } }],
      });
      await waitForStatus(raw, 'the drop-old-table gate', (s) => s.state === 'waiting-for-approval' && s.phases.some((p) => p.phase === 'retention'), 90_000);
      await new Promise((r) => setTimeout(r, 500)); // writes through the partitioned table, mirrored back
      await getCutoverHandle(temporal.client, workflowId).abort({ operator: 'ops', reason: 'the reporting job needs the old layout back' });
      return getCutoverHandle<GenericConversionSummary>(temporal.client, workflowId).result();
    });
    expect(summary.outcome).toBe('aborted');
    const k = await db.pool.query(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k, to_regclass($1 || '_old') AS old, to_regclass($1 || '_partitioned') AS shadow, (SELECT count(*)::int FROM pg_trigger WHERE tgname LIKE 'lichen%' AND tgrelid = to_regclass($1)) AS triggers`, [table]);
    expect(k.rows[0]).toMatchObject({ k: 'r', old: null, shadow: null, triggers: 0 });
  });
});
