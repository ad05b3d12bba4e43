import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { statusQuery, approveUpdate } from '../../workflows/messages';
import type { ConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { checkOracle, relkinds, rootMessage, seedHeap, SqlWriter, startWorker, syncTriggers, waitFor } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('conversion');
  env = await startWorker(temporal, db.url, taskQueue);
  await seedHeap(db.pool, 20_000, 6);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

describe('heapToPartitionedConversion under continuous writes', () => {
  it('rejects invalid input naming the field, before anything changes', async () => {
    const bad = [
      [{ retentionMinutes: 60 }, 'retentionMinutes'],
      [{ swap: { lockTimeoutMs: 'short' } }, 'swap.lockTimeoutMs'],
      [{ connectionProfile: 'postgres://u:p@h/db' }, 'connectionProfile'],
      [{ copy: { batchSiz: 10 } }, 'copy.batchSiz'],
      [{ target: 'memory_records; DROP TABLE x' }, 'target'],
    ] as const;
    for (const [input, field] of bad) {
      const err = await temporal.client.workflow
        .execute('heapToPartitionedConversion', { taskQueue, workflowId: `bad-${field}-${taskQueue}`, args: [input] })
        .catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(String(err.cause?.message)).toContain(`invalid input: ${field}`);
    }
    expect(await relkinds(db.pool)).toEqual({ memory_records: 'r', memory_records_partitioned: null, memory_records_old: null });
  });

  it('converts with 0 missing, stale or resurrected records and a sub-second swap', async () => {
    const writer = new SqlWriter(db.url, 150, 4);
    onTestFinished(() => writer.stop());
    await writer.load();
    writer.start();
    await new Promise((r) => setTimeout(r, 1000));
    const workflowId = `convert-${taskQueue}`;
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId,
      args: [{ nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, copy: { batchSize: 1000, sliceSeconds: 2, maxRowsPerSecond: 8000 }, swap: { lockTimeoutMs: 200 } }],
    });
    // A second run for the same target is refused by Postgres (one active run per target).
    await waitFor('the first run to pass preflight', async () => (await handle.query(statusQuery)).phases.length > 1);
    const second = await temporal.client.workflow
      .execute('heapToPartitionedConversion', { taskQueue, workflowId: `${workflowId}-2`, args: [{ nonProduction: true, retentionMinutes: 0 }] })
      .catch((e) => e);
    expect(rootMessage(second)).toMatch(/another run is active for memory_records: conversion workflow/);

    await waitFor('the drop-old-table gate', async () => (await handle.query(statusQuery)).state === 'waiting-for-approval', 45_000);
    // During retention the old table keeps receiving writes through the reverse sync.
    expect(await relkinds(db.pool)).toEqual({ memory_records: 'p', memory_records_partitioned: null, memory_records_old: 'r' });
    // The reverse sync, and the guard that refuses a TRUNCATE while it is installed (the one engine's, as for every table).
    expect(await syncTriggers(db.pool)).toEqual(['lichen_conversion_sync_reverse on memory_records', 'lichen_conversion_sync_truncate on memory_records']);
    await new Promise((r) => setTimeout(r, 500));
    await writer.stop();
    const oldOracle = await checkOracle(db.url, 'memory_records_old', writer.oracle);
    expect(oldOracle).toMatchObject({ missing: 0, stale: 0, resurrected: 0 });

    await handle.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'retention verified by the test', gate: 'drop-old-table' }] });
    const summary = (await handle.result()) as ConversionSummary;

    expect(summary.outcome).toBe('completed');
    expect(summary.phases.map((p) => p.phase)).toEqual(['preflight', 'create shadow', 'install sync', 'copy', 'verify', 'swap', 'post-swap check', 'retention', 'drop old table', 'summary']);
    expect(summary.copy.rows).toBeGreaterThanOrEqual(20_000);
    expect(summary.parity.months.every((m) => m.match)).toBe(true);
    expect(summary.swap!.lockHoldMs).toBeGreaterThan(0);
    expect(summary.swap!.lockHoldMs!).toBeLessThan(1000);
    expect(summary.swap!.transactionMs!).toBeLessThan(1000);
    expect(summary.postSwap).toMatchObject({ ok: true, mirrored: true });
    expect(summary.droppedOldTable).toBe(true);
    expect(summary.decisions).toEqual([expect.objectContaining({ action: 'approve', gate: 'drop-old-table', operator: 'test-operator' })]);

    expect(writer.errors).toEqual([]);
    expect(writer.acked).toBeGreaterThan(400);
    const oracle = await checkOracle(db.url, 'memory_records', writer.oracle);
    expect(oracle).toEqual({ missing: 0, stale: 0, resurrected: 0, examples: [] });
    expect(await relkinds(db.pool)).toEqual({ memory_records: 'p', memory_records_partitioned: null, memory_records_old: null });
    expect(await syncTriggers(db.pool)).toEqual([]);
    const run = await db.pool.query(`SELECT status FROM cutover_runs WHERE workflow_id = $1`, [workflowId]);
    expect(run.rows).toEqual([{ status: 'completed' }]);
    // Writers were never stalled longer than the lock_timeout (plus a generous margin for a busy test machine).
    expect(writer.maxLatencyMs()).toBeLessThan(200 + 1500);
  });
});
