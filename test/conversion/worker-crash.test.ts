import { afterAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { approveUpdate } from '../../workflows/messages';
import type { ConversionSummary } from '../../workflows/conversion';
import { useTemporal } from '../helpers/temporal';
import { checkOracle, heapDatabase, killConversionWorkers, relkinds, spawnConversionWorker as spawnWorker, SqlWriter, waitForStatus } from './harness';

const temporal = useTemporal();
const ROWS = 60_000;

afterAll(killConversionWorkers);

describe('a worker killed during the copy', () => {
  it('is replaced and the copy resumes from its heartbeated checkpoint, not from zero', async () => {
    const db = await heapDatabase(ROWS);
    onTestFinished(() => db.drop());
    const writer = new SqlWriter(db.url, 100, 3);
    onTestFinished(() => writer.stop());
    await writer.load();
    writer.start();
    const taskQueue = temporal.taskQueue('crash');
    const env = {
      TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: temporal.namespace,
      TASK_QUEUE: taskQueue, DB_URL: db.url, BUNDLE_PATH: temporal.workflowBundle.codePath,
    };
    const first = await spawnWorker(env);
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId: `crash-${taskQueue}`,
      args: [{
        nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false },
        // ~15 s of throttled copy in one slice; a silent worker is declared dead after 3 s.
        copy: { batchSize: 500, maxRowsPerSecond: 4000, sliceSeconds: 300, heartbeatTimeoutSeconds: 3 },
      }],
    });
    await waitForStatus(handle, 'the copy phase', (s) => s.phase === 'copy');
    await new Promise((r) => setTimeout(r, 4000)); // a few heartbeats reach the server
    const copiedBeforeKill = Number((await db.pool.query(`SELECT count(*) AS n FROM memory_records_partitioned`)).rows[0].n);
    first.kill('SIGKILL');
    expect(copiedBeforeKill).toBeGreaterThan(2000);

    await spawnWorker(env);
    await waitForStatus(handle, 'the drop gate', (s) => s.state === 'waiting-for-approval', 50_000);
    await handle.executeUpdate(approveUpdate, { args: [{ operator: 'ops', reason: 'test approves the drop', gate: 'drop-old-table' }] });
    const summary = (await handle.result()) as ConversionSummary;
    await writer.stop();

    expect(summary.outcome).toBe('completed');
    expect(summary.copy.resumes).toHaveLength(1);
    const resumed = summary.copy.resumes[0];
    expect(resumed.attempt).toBeGreaterThan(1);
    expect(resumed.rowsScannedBefore).toBeGreaterThan(1000);
    expect(resumed.createdAt).not.toBe('-infinity');
    // Only the batches after the last checkpoint were scanned twice.
    expect(summary.copy.rows).toBeLessThan(ROWS + 0.25 * ROWS);
    expect(writer.errors).toEqual([]);
    expect(await checkOracle(db.url, 'memory_records', writer.oracle)).toEqual({ missing: 0, stale: 0, resurrected: 0, examples: [] });
    expect(await relkinds(db.pool)).toEqual({ memory_records: 'p', memory_records_partitioned: null, memory_records_old: null });
  });
});
