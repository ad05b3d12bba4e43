import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolClient } from 'pg';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { approveUpdate, pauseUpdate, resumeUpdate, statusQuery } from '../../workflows/messages';
import type { RangeParityCheckpoint } from '../../activities/conversion/generic/range-parity';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { ordersUnderLoad } from '../helpers/orders-conversion';
import { startWorker, waitFor } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;
const SLOT = `lichen_parity_slot_${process.pid}`;
const LIMIT = 8192;
const op = (reason: string) => ({ operator: 'test-operator', reason });
const pending = (d: WorkflowExecutionDescription) => d.raw.pendingActivities ?? [];

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-parity-lag');
  env = await startWorker(temporal, db.url, taskQueue);
});
afterAll(async () => {
  await db.pool.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, [SLOT]).catch(() => undefined);
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

/** The heartbeat of the pending genericParity activity, when there is one. */
async function parityBeat(h: WorkflowHandle): Promise<RangeParityCheckpoint | undefined> {
  const a = pending(await h.describe()).find((x) => x.activityType?.name === 'genericParity');
  return a?.heartbeatDetails?.payloads?.length ? (defaultPayloadConverter.fromPayload(a.heartbeatDetails.payloads[0]) as RangeParityCheckpoint) : undefined;
}

/**
 * Holds ACCESS EXCLUSIVE on the heap while `fn` runs: every phase up to the copy reads the heap,
 * so none of them can finish meanwhile (a pause sent inside `fn` lands before the copy ends).
 */
async function withHeapLocked(table: string, fn: () => Promise<void>): Promise<void> {
  const c: PoolClient = await db.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    await fn();
    await c.query('COMMIT');
  } finally {
    c.release();
  }
}

/**
 * Issue 25 item 4's throttle on the generic parity: with `copy.maxSlotRetainedWalBytes`, a
 * replication slot that retains more WAL than that (a consumer that stopped reading) pauses the
 * parity before its next range; the pending activity's heartbeat says why and no range is read
 * meanwhile; once the slot is dropped the parity goes on and the run completes under the app
 * role's load with the row oracle at zero.
 */
describe('heapToPartitionedConversion of any table: the parity pauses while a replication slot retains too much WAL', () => {
  it('pauses before its next range, says why, resumes once the slot is dropped', async () => {
    const run = await ordersUnderLoad(db, 'lagshop');
    const workflowId = `generic-parity-lag-${taskQueue}`;
    let handle!: WorkflowHandle;
    // The run is held paused before its verify phase (the slot must not exist before then: the
    // copy may honour the same throttle): each step takes the heap's lock, lets the run go on,
    // pauses it inside a phase that cannot end meanwhile, and releases the lock.
    await withHeapLocked(run.table, async () => {
      handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId,
        args: [{ table: run.table, partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, copy: { batchSize: 200, maxSlotRetainedWalBytes: LIMIT } }],
      });
      await handle.executeUpdate(pauseUpdate, { args: [op('hold the run before the parity')] });
    });
    for (;;) {
      const s = await waitFor('the run to pause', async () => { const x = await handle.query(statusQuery); return x.state === 'paused' && x; }, 120_000);
      const before = s.notes.filter((n) => n.startsWith('paused before ')).at(-1);
      if (before === 'paused before verify') break;
      expect(before).toMatch(/^paused before (create shadow|install sync|copy)$/);
      await withHeapLocked(run.table, async () => {
        await handle.executeUpdate(resumeUpdate, { args: [op('one more phase')] });
        await handle.executeUpdate(pauseUpdate, { args: [op('hold the run before the parity')] });
      });
    }
    await handle.executeUpdate(approveUpdate, { args: [{ ...op('dropped once retention is over'), gate: 'drop-old-table' }] });

    // A slot that nobody reads retains the WAL the load writes from now on.
    await db.pool.query(`SELECT pg_create_physical_replication_slot($1, true)`, [SLOT]);
    const retained = async () => Number((await db.pool.query<{ b: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS b FROM pg_replication_slots WHERE slot_name = $1`, [SLOT])).rows[0].b);
    await waitFor('the slot to retain more WAL than the limit', async () => (await retained()) > LIMIT, 60_000);
    await handle.executeUpdate(resumeUpdate, { args: [op('verify with the slot in place')] });

    const paused = await waitFor('the parity to pause on the slot', async () => { const b = await parityBeat(handle); return b?.pausedBecause ? b : undefined; }, 120_000);
    expect(paused.pausedBecause).toMatch(new RegExp(`^paused: replication slot retains \\d+ B of WAL > maxSlotRetainedWalBytes ${LIMIT}$`));
    // Paused means paused: not one range read while the slot holds WAL (a later heartbeat, still paused, still at zero).
    expect(paused).toMatchObject({ ranges: 0, rows: 0 });
    const later = await waitFor('a later heartbeat of the paused parity', async () => {
      const b = await parityBeat(handle);
      return b?.pausedBecause && b.pausedBecause !== paused.pausedBecause ? b : undefined;
    }, 180_000); // the SDK sends heartbeats at most every 0.8 × the heartbeat timeout
    expect(later).toMatchObject({ ranges: 0, rows: 0 });

    await db.pool.query(`SELECT pg_drop_replication_slot($1)`, [SLOT]);
    const summary = (await handle.result()) as GenericConversionSummary;
    expect(summary.outcome).toBe('completed');
    expect(summary.parity).toMatchObject({ match: true });
    expect(summary.droppedOldTable).toBe(true);
    const v = await run.judge();
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  }, 600_000);
});
