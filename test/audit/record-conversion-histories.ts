import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyToJSONObject } from '../../src/audit/history-json';
import { useTemporal } from '../helpers/temporal';
import { useConversionScenario } from '../conversion/harness';
import type { ConversionSummary } from '../../workflows/conversion';
import { driveRetentionDrift, RETENTION_DRIFT_INPUT } from './conversion-scenarios';
import { useTestDatabase } from '../helpers/db';
import { startWorker } from '../conversion/harness';
import { fetchRunChain } from '../../src/audit/chain';
import { approveUpdate } from '../../workflows/messages';

/**
 * Records the conversion histories replayed by replay.test.ts (beside record-histories.ts,
 * which records the production cutover's): the real workflow on the dev server against a
 * fresh heap database under the test writer's load. `FIXTURES=conversion-retention-drift`
 * selects it, `FIXTURES_PREFIX` names a recording of an older path.
 */
const OUT = path.resolve(__dirname, '../fixtures/histories');
const temporal = useTemporal();
const scenario = useConversionScenario(temporal, 'fixture-conversion', 3000);
const only = process.env.FIXTURES?.split(',').filter(Boolean);
const name = 'conversion-retention-drift';
const maintenanceDb = useTestDatabase('partitioned');
const genericDb = useTestDatabase('heap');
const write = (n: string, workflowId: string, history: unknown) =>
  fs.writeFileSync(path.join(OUT, `${process.env.FIXTURES_PREFIX ?? ''}${n}.json`), JSON.stringify({ workflowId, history }, null, 1) + '\n');

describe('records conversion histories for the replay tests', () => {
  it.skipIf(only && !only.includes(name))(`records ${name}`, async () => {
    const { db, taskQueue } = await scenario();
    const workflowId = `fixture-${name}`;
    const h = await temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId, args: [RETENTION_DRIFT_INPUT] });
    await driveRetentionDrift(temporal.client, workflowId, db.pool);
    const r = (await h.result()) as ConversionSummary;
    const history = await h.fetchHistory();
    fs.writeFileSync(path.join(OUT, `${process.env.FIXTURES_PREFIX ?? ''}${name}.json`), JSON.stringify({ workflowId, history: historyToJSONObject(history) }, null, 1) + '\n');
    expect(r.outcome).toBe('completed');
  });

  it.skipIf(only && !only.includes('maintenance-premake'))('records maintenance-premake', async () => {
    const taskQueue = temporal.taskQueue('fixture-maintenance');
    const env = await startWorker(temporal, maintenanceDb.url, taskQueue);
    try {
      const workflowId = 'fixture-maintenance-premake';
      const h = await temporal.client.workflow.start('partitionMaintenance', { taskQueue, workflowId, args: [{ now: '2027-01-15T00:00:00Z', premakeMonths: 1 }] });
      await h.result();
      write('maintenance-premake', workflowId, historyToJSONObject(await h.fetchHistory()));
    } finally {
      env.worker.shutdown();
      await env.running;
      await env.profiles.close();
    }
  });

  // The conversion of any table (input with `table`), completed: preflight to the drop (and, with
  // the generic-keeps-working patch, partitions ahead and the maintenance Schedule, deleted after).
  it.skipIf(only && !only.includes('generic-conversion'))('records generic-conversion', async () => {
    const taskQueue = temporal.taskQueue('fixture-generic');
    const env = await startWorker(temporal, genericDb.url, taskQueue);
    try {
      await genericDb.pool.query(`CREATE SCHEMA IF NOT EXISTS shop;
        CREATE TABLE shop.fixture_orders (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), total numeric(12,2) NOT NULL);
        INSERT INTO shop.fixture_orders (placed_at, total) SELECT now() - g * interval '9 hours', g FROM generate_series(1, 300) g;`);
      const workflowId = 'fixture-generic-conversion';
      const h = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId,
        args: [{ table: 'shop.fixture_orders', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false } }],
      });
      await h.executeUpdate(approveUpdate, { args: [{ operator: 'frank', reason: 'pre-approved: drop after retention', gate: 'drop-old-table' }] });
      const r = (await h.result()) as { outcome: string; keepsWorking?: { schedule: { scheduleId?: string } } };
      expect(r.outcome).toBe('completed');
      if (r.keepsWorking?.schedule.scheduleId) await temporal.client.schedule.getHandle(r.keepsWorking.schedule.scheduleId).delete();
      write('generic-conversion', workflowId, historyToJSONObject(await h.fetchHistory()));
    } finally {
      env.worker.shutdown();
      await env.running;
      await env.profiles.close();
    }
  });

  // The conversion of any table over a chain of runs (a 100-event budget, 1 s slices, small parity
  // ranges): handed over between copy slices and between parity slices (PATCHES.genericHandOver).
  // The first run (the patch's marker), the first run continued at copy and the first at verify.
  it.skipIf(only && !only.includes('continued-generic-conversion'))('records continued-generic-conversion', async () => {
    const taskQueue = temporal.taskQueue('fixture-generic-handover');
    const env = await startWorker(temporal, genericDb.url, taskQueue);
    try {
      await genericDb.pool.query(`CREATE SCHEMA IF NOT EXISTS shop;
        CREATE TABLE shop.fixture_ledger (id bigserial PRIMARY KEY, booked_at timestamptz NOT NULL DEFAULT now(), amount numeric(12,2) NOT NULL);
        INSERT INTO shop.fixture_ledger (booked_at, amount) SELECT now() - g * interval '90 minutes', g FROM generate_series(1, 12000) g;`);
      const workflowId = 'fixture-continued-generic-conversion';
      const h = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId,
        args: [{ table: 'shop.fixture_ledger', partitionBy: { column: 'booked_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false },
          copy: { parallelism: 1, sliceSeconds: 1, maxRowsPerSecond: 400, parityRangeRows: 200 }, history: { maxEvents: 100 } }],
      });
      await h.executeUpdate(approveUpdate, { args: [{ operator: 'frank', reason: 'pre-approved: drop after retention', gate: 'drop-old-table' }] });
      const r = (await h.result()) as { outcome: string; keepsWorking?: { schedule: { scheduleId?: string } }; history?: { continuedAt: { handedOverAt: string }[] } };
      expect(r.outcome).toBe('completed');
      if (r.keepsWorking?.schedule.scheduleId) await temporal.client.schedule.getHandle(r.keepsWorking.schedule.scheduleId).delete();
      const chain = await fetchRunChain(temporal.client.workflow, workflowId);
      const at = r.history!.continuedAt.map((c) => c.handedOverAt);
      // Run i + 1 continues from run i, which handed over at at[i].
      const atCopy = at.indexOf('copy') + 1;
      const atVerify = at.indexOf('verify') + 1;
      expect(atCopy, at.join(', ')).toBeGreaterThan(0);
      expect(atVerify, at.join(', ')).toBeGreaterThan(0);
      write('continued-generic-conversion-first-run', workflowId, historyToJSONObject(chain[0] as never));
      write('continued-generic-conversion-at-copy', workflowId, historyToJSONObject(chain[atCopy] as never));
      write('continued-generic-conversion-at-verify', workflowId, historyToJSONObject(chain[atVerify] as never));
    } finally {
      env.worker.shutdown();
      await env.running;
      await env.profiles.close();
    }
  });

  // Mode attach, completed through an approved before-swap gate (the gate's deadline at the bound: PATCHES.attachGateBound).
  it.skipIf(only && !only.includes('attach-conversion'))('records attach-conversion', async () => {
    const taskQueue = temporal.taskQueue('fixture-attach');
    const env = await startWorker(temporal, genericDb.url, taskQueue);
    try {
      await genericDb.pool.query(`CREATE SCHEMA IF NOT EXISTS shop;
        CREATE TABLE shop.fixture_attach (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), total numeric(12,2) NOT NULL);
        INSERT INTO shop.fixture_attach (placed_at, total) SELECT now() - g * interval '9 hours', g FROM generate_series(1, 300) g;`);
      const workflowId = 'fixture-attach-conversion';
      const h = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId,
        args: [{ table: 'shop.fixture_attach', mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: true } }],
      });
      await h.executeUpdate(approveUpdate, { args: [{ operator: 'frank', reason: 'pre-approved: attach', gate: 'before-swap' }] });
      const r = (await h.result()) as { outcome: string; keepsWorking?: { schedule: { scheduleId?: string } } };
      expect(r.outcome).toBe('completed');
      if (r.keepsWorking?.schedule.scheduleId) await temporal.client.schedule.getHandle(r.keepsWorking.schedule.scheduleId).delete();
      write('attach-conversion', workflowId, historyToJSONObject(await h.fetchHistory()));
    } finally {
      env.worker.shutdown();
      await env.running;
      await env.profiles.close();
    }
  });

  // Bounded histories: one conversion over a chain of runs (a 100-event budget): handed over
  // in the copy or between steps, or in retention. The first run and the last (which starts
  // from carried state).
  it.skipIf(only && !only.includes('continued-conversion'))('records continued-conversion', async () => {
    const { taskQueue } = await scenario();
    const workflowId = 'fixture-continued-conversion';
    const input = { nonProduction: true, retentionMinutes: 0.4, retentionCheckMinutes: 0.05, approvals: { beforeSwap: false }, copy: { batchSize: 100, sliceSeconds: 1, maxRowsPerSecond: 250 }, history: { maxEvents: 100 } };
    const h = await temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId, args: [input] });
    await h.executeUpdate(approveUpdate, { args: [{ operator: 'frank', reason: 'pre-approved: drop after retention', gate: 'drop-old-table' }] });
    expect(((await h.result()) as ConversionSummary).outcome).toBe('completed');
    const chain = await fetchRunChain(temporal.client.workflow, workflowId);
    expect(chain.length).toBeGreaterThanOrEqual(2);
    write('continued-conversion-first-run', workflowId, historyToJSONObject(chain[0] as never));
    write('continued-conversion-last-run', workflowId, historyToJSONObject(chain[chain.length - 1] as never));
  });
});
