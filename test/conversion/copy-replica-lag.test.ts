import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { ConversionSummary } from '../../workflows/conversion';
import { approveUpdate, statusQuery } from '../../workflows/messages';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { checkOracle, seedHeap, SqlWriter, startWorker, waitFor } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;
const SLOT = `lichen_test_slot_${process.pid}`;
const pending = (d: WorkflowExecutionDescription) => d.raw.pendingActivities ?? [];

beforeAll(async () => {
  taskQueue = temporal.taskQueue('copy-lag');
  env = await startWorker(temporal, db.url, taskQueue);
  await seedHeap(db.pool, 6000, 3);
});
afterAll(async () => {
  await db.pool.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, [SLOT]).catch(() => undefined);
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

/**
 * Issue 17 item 5 for the conversion copy: with `copy.maxSlotRetainedWalBytes`, a replication
 * slot that retains more WAL than that (a consumer that stopped reading) pauses the copy before
 * its next batch; the pending activity's heartbeat says why; once the slot is gone the copy
 * resumes and the conversion completes under load with the oracle at zero.
 */
/**
 * The scans of the copy phase that honour the slot limit: memory_records' own copy (runs started
 * before the one engine) and the one engine's snapshot copy and log replay (a copy of 6,000 rows may
 * be past its snapshot when the slot appears: then the replay's round waits), and the parity after.
 */
const SCANS = ['copyHeapSlice', 'copyGenericSnapshot', 'replayGenericLog', 'genericParity'];
type Beat = { pausedBecause?: string; rowsScanned?: number; rows?: number; replayed?: number };
const rowsOf = (b: Beat) => b.rowsScanned ?? b.rows ?? b.replayed;

describe('heapToPartitionedConversion: the copy pauses while a replication slot retains too much WAL', () => {
  it('pauses, says why, resumes when the slot is dropped', async () => {
    const writer = new SqlWriter(db.url, 100, 2);
    onTestFinished(() => writer.stop());
    await writer.load();
    writer.start();
    const workflowId = `copy-lag-${taskQueue}`;
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId,
      args: [{ nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, copy: { batchSize: 500, sliceSeconds: 30, maxSlotRetainedWalBytes: 64 * 1024 } }],
    });
    // Once the copy is running, a slot starts retaining WAL (nobody reads it).
    await waitFor('the copy phase', async () => (await handle.query(statusQuery)).phase === 'copy', 60_000);
    await db.pool.query(`SELECT pg_create_physical_replication_slot($1, true)`, [SLOT]);
    const paused = await waitFor('the copy to pause on the slot', async () => {
      const d = await handle.describe();
      for (const a of pending(d)) {
        if (!SCANS.includes(a.activityType?.name ?? '') || !a.heartbeatDetails) continue;
        const details = defaultPayloadConverter.fromPayload(a.heartbeatDetails.payloads![0]) as Beat;
        if (details.pausedBecause) return { activity: a.activityType!.name!, ...details };
      }
      return undefined;
    }, 60_000);
    expect(paused.pausedBecause).toMatch(/paused: replication slot retains \d+ B of WAL > maxSlotRetainedWalBytes 65536/);
    // Paused means paused: no row goes by while the slot holds WAL.
    await new Promise((r) => setTimeout(r, 2500));
    const still = await handle.describe();
    const beat = pending(still).find((a) => a.activityType?.name === paused.activity);
    const later = defaultPayloadConverter.fromPayload(beat!.heartbeatDetails!.payloads![0]) as Beat;
    expect(rowsOf(later)).toBe(rowsOf(paused));
    expect(later.pausedBecause).toBeDefined();
    await db.pool.query(`SELECT pg_drop_replication_slot($1)`, [SLOT]);

    await waitFor('the drop-old-table gate', async () => (await handle.query(statusQuery)).state === 'waiting-for-approval', 90_000);
    await writer.stop();
    await handle.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'copy resumed after the slot was dropped', gate: 'drop-old-table' }] });
    const summary = (await handle.result()) as ConversionSummary;
    expect(summary.outcome).toBe('completed');
    expect(summary.copy.rows).toBeGreaterThan(5000);
    expect(await checkOracle(db.url, 'memory_records', writer.oracle)).toMatchObject({ missing: 0, stale: 0, resurrected: 0 });
  });
});
