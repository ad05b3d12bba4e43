import { describe, expect, it, onTestFinished } from 'vitest';
import { Client } from 'pg';
import { approveUpdate, resumeUpdate } from '../../workflows/messages';
import type { ConversionSummary } from '../../workflows/conversion';
import { useTemporal } from '../helpers/temporal';
import { checkOracle, relkinds, useConversionScenario, waitForStatus } from './harness';

const temporal = useTemporal();
const LOCK_TIMEOUT_MS = 100;
/** Generous slack for a busy test machine; the bound under test is the lock_timeout itself. */
const MARGIN_MS = 1000;

/** A long transaction holding ACCESS SHARE on memory_records (a report, a pg_dump…). */
async function longReader(url: string): Promise<{ release(): Promise<void> }> {
  const c = new Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  await c.query('BEGIN');
  await c.query('SELECT count(*) FROM memory_records');
  let done = false;
  return {
    async release() {
      if (done) return;
      done = true;
      await c.query('COMMIT');
      await c.end();
    },
  };
}

describe('the swap under a long transaction', () => {
  const setup = useConversionScenario(temporal, 'swap-locks');

  it('retries with backoff while a long transaction holds a lock, then swaps once it ends; writers wait at most ~lock_timeout', async () => {
    const { db, writer, taskQueue } = await setup();
    const blocker = await longReader(db.url);
    onTestFinished(() => blocker.release());
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId: `swap-retry-${taskQueue}`,
      args: [{ nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, swap: { lockTimeoutMs: LOCK_TIMEOUT_MS, maxTries: 40, backoffMs: 50, maxBackoffMs: 200 } }],
    });
    await waitForStatus(handle, 'the swap phase', (s) => s.phase === 'swap');
    await new Promise((r) => setTimeout(r, 1500)); // several tries time out meanwhile
    await blocker.release();
    await waitForStatus(handle, 'the drop gate', (s) => s.state === 'waiting-for-approval');
    await handle.executeUpdate(approveUpdate, { args: [{ operator: 'ops', reason: 'test approves the drop', gate: 'drop-old-table' }] });
    const summary = (await handle.result()) as ConversionSummary;
    await writer.stop();

    expect(summary.outcome).toBe('completed');
    expect(summary.swap!.tries).toBeGreaterThan(2);
    expect(summary.swap!.operatorRetries).toBe(0);
    expect(summary.swap!.lockHoldMs!).toBeLessThan(1000);
    expect(writer.errors).toEqual([]);
    expect(writer.maxLatencyMs()).toBeLessThan(LOCK_TIMEOUT_MS + MARGIN_MS);
    expect(await checkOracle(db.url, 'memory_records', writer.oracle)).toEqual({ missing: 0, stale: 0, resurrected: 0, examples: [] });
    expect(await relkinds(db.pool)).toEqual({ memory_records: 'p', memory_records_partitioned: null, memory_records_old: null });
  });

  it('pauses for an operator after a bounded number of tries, and swaps when the operator retries', async () => {
    const { db, writer, taskQueue } = await setup();
    const blocker = await longReader(db.url);
    onTestFinished(() => blocker.release());
    const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId: `swap-operator-${taskQueue}`,
      args: [{ nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, swap: { lockTimeoutMs: LOCK_TIMEOUT_MS, maxTries: 3, backoffMs: 50, maxBackoffMs: 100 } }],
    });
    const waiting = await waitForStatus(handle, 'the operator pause', (s) => s.state === 'waiting-for-operator');
    expect(waiting.phase).toBe('swap');
    expect(waiting.waitingOn).toMatch(/the swap could not take its locks in 3 tries \(lock_timeout 100 ms\)/);
    // Still waiting a moment later: the run does not hammer the lock queue on its own.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await waitForStatus(handle, 'still waiting', () => true)).state).toBe('waiting-for-operator');
    expect(await relkinds(db.pool)).toEqual({ memory_records: 'r', memory_records_partitioned: 'p', memory_records_old: null });

    await blocker.release();
    await handle.executeUpdate(resumeUpdate, { args: [{ operator: 'ops', reason: 'the report finished', decision: 'retry' }] });
    await waitForStatus(handle, 'the drop gate', (s) => s.state === 'waiting-for-approval');
    await handle.executeUpdate(approveUpdate, { args: [{ operator: 'ops', reason: 'test approves the drop', gate: 'drop-old-table' }] });
    const summary = (await handle.result()) as ConversionSummary;
    await writer.stop();

    expect(summary.outcome).toBe('completed');
    expect(summary.swap!.operatorRetries).toBe(1);
    expect(summary.decisions.map((d) => d.action)).toEqual(['resume', 'approve']);
    expect(writer.errors).toEqual([]);
    expect(writer.maxLatencyMs()).toBeLessThan(LOCK_TIMEOUT_MS + MARGIN_MS);
    expect(await checkOracle(db.url, 'memory_records', writer.oracle)).toEqual({ missing: 0, stale: 0, resurrected: 0, examples: [] });
  });
});
