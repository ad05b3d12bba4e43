import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import type { SnapshotCopyCheckpoint } from '../../activities/conversion/generic/snapshot-copy';
import { snapshotCopy } from '../../activities/conversion/generic/snapshot-copy';
import { parseConversionChoice } from '../../src/conversion/choice/choice';
import { planConversion } from '../../activities/conversion/plan/plan';
import { runPhase, runPhaseInTransaction } from '../../activities/conversion/generic/execute';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { expectConverted, ordersUnderLoad, startOrdersConversion } from '../helpers/orders-conversion';
import { startWorker, waitFor } from './harness';

/**
 * Issue 25 item 4, the replica-lag throttle on the change-log engine's copy (`copy.maxReplicaLagMs`,
 * `copy.maxSlotRetainedWalBytes`): while a replication slot retains more WAL than the limit, the
 * copy exports no snapshot and fills no partition (the pending activity's heartbeat says why); a
 * lag that appears mid-copy ends the slice after the partitions being filled, so the snapshot is
 * not held through the pause. Once the slot is gone the run completes, the app role's load with
 * the row oracle at zero.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;
const SLOT = `lichen_copy_slot_${process.pid}`;
const LIMIT = 8192;
const pending = (d: WorkflowExecutionDescription) => d.raw.pendingActivities ?? [];

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-copy-lag');
  env = await startWorker(temporal, db.url, taskQueue);
});
afterAll(async () => {
  await db.pool.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, [SLOT]).catch(() => undefined);
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

async function copyBeat(h: WorkflowHandle): Promise<(SnapshotCopyCheckpoint & { pausedBecause?: string }) | undefined> {
  const a = pending(await h.describe()).find((x) => x.activityType?.name === 'copyGenericSnapshot');
  return a?.heartbeatDetails?.payloads?.length ? (defaultPayloadConverter.fromPayload(a.heartbeatDetails.payloads[0]) as SnapshotCopyCheckpoint & { pausedBecause?: string }) : undefined;
}

const retained = async () => Number((await db.pool.query<{ b: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS b FROM pg_replication_slots WHERE slot_name = $1`, [SLOT])).rows[0]?.b ?? 0);

describe('the change-log copy honours the replica-lag throttle', () => {
  it('a lag that appears mid-copy ends the slice after the partitions being filled, saying why; the next slice finishes', async () => {
    await db.pool.query(`CREATE SCHEMA lanes;
      CREATE TABLE lanes.events (id bigserial PRIMARY KEY, at timestamptz NOT NULL, what text);
      INSERT INTO lanes.events (at, what) SELECT now() - g * interval '9 hours', 'e' || g FROM generate_series(1, 1500) g;`);
    const choice = parseConversionChoice({ table: 'lanes.events', partitionBy: { column: 'at', interval: 'month' } });
    const plan = await db.withClient((c) => planConversion(c, choice, Date.now(), undefined, { changeLog: true }));
    await db.withClient((c) => runPhase(c, plan, 'shadow'));
    await db.withClient((c) => runPhaseInTransaction(c, plan, 'sync', 2000));
    let asked = 0;
    // Lagging from the second question on: the lanes fill what they took, then stop.
    const first = await snapshotCopy(db.pool, plan, { parallelism: 1, beat: () => undefined, lagging: async () => (++asked > 1 ? 'paused: standby replay lag 9000 ms > maxReplicaLagMs 1000' : null) });
    expect(first.complete).toBe(false);
    expect(first.pausedBecause).toMatch(/standby replay lag/);
    expect(first.done.length).toBeGreaterThanOrEqual(1);
    expect(first.done.length).toBeLessThan(first.partitions);
    // No exported snapshot outlives the slice: no session of this database is left in a transaction.
    const open = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`);
    expect(open.rows[0].n).toBe(0);
    const rest = await snapshotCopy(db.pool, plan, { parallelism: 2, beat: () => undefined, from: { done: first.done, rows: first.rows }, lagging: async () => null });
    expect(rest.complete).toBe(true);
    expect(rest.pausedBecause).toBeUndefined();
    expect(rest.rows).toBe(Number((await db.pool.query(`SELECT count(*) AS n FROM ${plan.names.shadow}`)).rows[0].n));
    expect(rest.rows).toBe(1500);
  });

  it('a run waits before its copy while a slot retains more WAL than maxSlotRetainedWalBytes, fills nothing meanwhile, completes once it is dropped; oracle at zero', async () => {
    const run = await ordersUnderLoad(db, 'lagcopy');
    // A slot nobody reads retains the WAL the load writes from now on.
    await db.pool.query(`SELECT pg_create_physical_replication_slot($1, true)`, [SLOT]);
    await waitFor('the slot to retain more WAL than the limit', async () => (await retained()) > LIMIT, 60_000);
    const handle = await startOrdersConversion(temporal.client, taskQueue, `generic-copy-lag-${taskQueue}`, run.table, 0, { copy: { batchSize: 200, maxSlotRetainedWalBytes: LIMIT } });
    const paused = await waitFor('the copy to pause on the slot', async () => { const b = await copyBeat(handle); return b?.pausedBecause ? b : undefined; }, 120_000);
    expect(paused.pausedBecause).toMatch(new RegExp(`^paused: replication slot retains \\d+ B of WAL > maxSlotRetainedWalBytes ${LIMIT}$`));
    expect(paused).toMatchObject({ done: [], rows: 0 });
    const shadow = `${run.table}_partitioned`;
    const later = await waitFor('a later heartbeat of the paused copy', async () => {
      const b = await copyBeat(handle);
      return b?.pausedBecause && b.pausedBecause !== paused.pausedBecause ? b : undefined;
    }, 180_000); // the SDK sends heartbeats at most every 0.8 × the heartbeat timeout
    expect(later).toMatchObject({ done: [], rows: 0 });
    // Paused means paused: the shadow holds no row and no plain table is being filled.
    expect(Number((await db.pool.query(`SELECT count(*) AS n FROM ${shadow}`)).rows[0].n)).toBe(0);
    expect(Number((await db.pool.query(`SELECT count(*) AS n FROM pg_class WHERE relname LIKE '%lichen_fill'`)).rows[0].n)).toBe(0);

    await db.pool.query(`SELECT pg_drop_replication_slot($1)`, [SLOT]);
    const summary = await expectConverted(db, handle, run.table);
    expect(summary.copy!.rows).toBeGreaterThan(500);
    expect(summary.parity).toMatchObject({ match: true });
    const v = await run.judge();
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  }, 600_000);
});
