import { describe, expect, it } from 'vitest';
import { abortUpdate } from '../../workflows/messages';
import type { ConversionSummary } from '../../workflows/conversion';
import { useTemporal } from '../helpers/temporal';
import { checkOracle, relkinds, rootMessage, syncTriggers, useConversionScenario, waitForStatus } from './harness';

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
    // The sync, and the guard that refuses a TRUNCATE while it is installed (the one engine's, as for every table).
    expect(await syncTriggers(db.pool)).toEqual(['lichen_conversion_sync_forward on memory_records', 'lichen_conversion_sync_truncate on memory_records']);
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

  it('after the swap, a row that reached only the partitioned table (a partition attached by hand): the swap back keeps it as memory_records_rolled_back, named in the result', async () => {
    const { db, writer, taskQueue } = await setup();
    const workflowId = `rollback-kept-${taskQueue}`;
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId, args: [{ nonProduction: true, retentionMinutes: 30, approvals: { beforeSwap: false } }],
    });
    await waitForStatus(handle, 'the retention window', (s) => s.phase === 'retention');
    // ATTACH fires no trigger: the reverse sync never copies this row to memory_records_old.
    await db.pool.query(`CREATE TABLE memory_records_hand (LIKE memory_records INCLUDING DEFAULTS);
      INSERT INTO memory_records_hand (id, owner_id, kind, content, created_at, updated_at) VALUES (gen_random_uuid(), 'by-hand', 'note', 'only here', '2090-01-15', '2090-01-15');
      ALTER TABLE memory_records ATTACH PARTITION memory_records_hand FOR VALUES FROM ('2090-01-01') TO ('2090-02-01')`);
    await handle.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'latency regression seen' }] });
    const summary = (await handle.result()) as ConversionSummary;
    await new Promise((r) => setTimeout(r, 300));
    await writer.stop();

    expect(summary.outcome).toBe('aborted');
    expect(summary.keptTables).toEqual([{ table: '"public"."memory_records_rolled_back"', rowsOnlyThere: 1, comparedWith: 'memory_records', dropStatement: 'DROP TABLE "public"."memory_records_rolled_back"' }]);
    expect(await relkinds(db.pool)).toEqual({ memory_records: 'r', memory_records_partitioned: null, memory_records_old: null });
    expect((await db.pool.query(`SELECT content FROM memory_records_rolled_back WHERE owner_id = 'by-hand'`)).rows).toEqual([{ content: 'only here' }]);
    // A new conversion refuses at preflight, naming the kept table, before anything changes.
    const again = await temporal.client.workflow.execute('heapToPartitionedConversion', { taskQueue, workflowId: `${workflowId}-again`, args: [{ nonProduction: true, retentionMinutes: 0 }] }).catch((e) => e);
    expect(rootMessage(again)).toMatch(/"public"."memory_records_rolled_back" exists: kept aside by an earlier rollback/);
    expect(await relkinds(db.pool)).toEqual({ memory_records: 'r', memory_records_partitioned: null, memory_records_old: null });
    expect(writer.errors).toEqual([]);
    expect(await checkOracle(db.url, 'memory_records', writer.oracle)).toEqual({ missing: 0, stale: 0, resurrected: 0, examples: [] });
  });
});
