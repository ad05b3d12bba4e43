import { describe, expect, it } from 'vitest';
import { abortUpdate } from '../../workflows/messages';
import type { ConversionSummary } from '../../workflows/conversion';
import { useTemporal } from '../helpers/temporal';
import { checkOracle, relkinds, syncTriggers, useConversionScenario, waitForStatus } from './harness';

const temporal = useTemporal();

describe('rollback of the conversion, driven by an operator abort', () => {
  const setup = useConversionScenario(temporal, 'rollback');

  it('before the swap: removes the sync and the shadow; the heap is untouched and complete', async () => {
    const { db, writer, taskQueue } = await setup();
    const workflowId = `rollback-before-${taskQueue}`;
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId, args: [{ nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: true } }],
    });
    const waiting = await waitForStatus(handle, 'the before-swap gate', (s) => s.state === 'waiting-for-approval');
    expect(waiting.waitingOn).toMatch(/approval of "before-swap"/);
    expect(await syncTriggers(db.pool)).toEqual(['lichen_conversion_sync_forward on memory_records']);
    await new Promise((r) => setTimeout(r, 500));
    await handle.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'change window closed' }] });
    const summary = (await handle.result()) as ConversionSummary;
    await new Promise((r) => setTimeout(r, 300)); // writes continue after the rollback
    await writer.stop();

    expect(summary.outcome).toBe('aborted');
    expect(summary.cause).toBe('aborted by ops: change window closed');
    expect(summary.rollbacks).toEqual([expect.objectContaining({ branch: expect.stringMatching(/^before-swap/), cause: summary.cause })]);
    expect(await relkinds(db.pool)).toEqual({ memory_records: 'r', memory_records_partitioned: null, memory_records_old: null });
    expect(await syncTriggers(db.pool)).toEqual([]);
    expect(writer.errors).toEqual([]);
    expect(await checkOracle(db.url, 'memory_records', writer.oracle)).toEqual({ missing: 0, stale: 0, resurrected: 0, examples: [] });
    const run = await db.pool.query(`SELECT status FROM cutover_runs WHERE workflow_id = $1`, [workflowId]);
    expect(run.rows).toEqual([{ status: 'aborted' }]);
  });

  it('after the swap, during retention: swaps back with nothing lost (the old table was kept in sync)', async () => {
    const { db, writer, taskQueue } = await setup();
    const workflowId = `rollback-after-${taskQueue}`;
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId, args: [{ nonProduction: true, retentionMinutes: 30, approvals: { beforeSwap: false } }],
    });
    await waitForStatus(handle, 'the retention window', (s) => s.phase === 'retention');
    expect(await relkinds(db.pool)).toEqual({ memory_records: 'p', memory_records_partitioned: null, memory_records_old: 'r' });
    await new Promise((r) => setTimeout(r, 1500)); // writes land in the partitioned table and are mirrored back
    await handle.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'latency regression seen' }] });
    const summary = (await handle.result()) as ConversionSummary;
    await new Promise((r) => setTimeout(r, 300));
    await writer.stop();

    expect(summary.outcome).toBe('aborted');
    expect(summary.swap?.lockHoldMs).toBeGreaterThan(0);
    expect(summary.rollbacks).toEqual([expect.objectContaining({ branch: expect.stringMatching(/^after-swap/), cause: 'aborted by ops: latency regression seen' })]);
    expect(await relkinds(db.pool)).toEqual({ memory_records: 'r', memory_records_partitioned: null, memory_records_old: null });
    expect(await syncTriggers(db.pool)).toEqual([]);
    expect(writer.errors).toEqual([]);
    expect(await checkOracle(db.url, 'memory_records', writer.oracle)).toEqual({ missing: 0, stale: 0, resurrected: 0, examples: [] });
    const run = await db.pool.query(`SELECT status FROM cutover_runs WHERE workflow_id = $1`, [workflowId]);
    expect(run.rows).toEqual([{ status: 'aborted' }]);
  });
});
