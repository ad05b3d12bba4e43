import { describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { useHeapApps } from '../helpers/heap-apps';
import { createTestWorker } from '../helpers/worker';
import { waitForStatus } from '../helpers/status';
import { expectNothingLost } from '../helpers/cutover-env';
import { seedRecords } from '../../src/loadgen/seed';
import { startLoad } from '../../src/loadgen/generator';
import { checkOracle, postgresReader } from '../../src/loadgen/oracle';
import { getControl, listInstances } from '../../src/memory-layer/control-plane';
import { abortUpdate, approveUpdate } from '../../workflows/messages';
import type { ConversionSummary } from '../../workflows/conversion';
import { relkinds, syncTriggers } from './harness';

// sync "app-dual-write": no trigger; the memory-layer app (Postgres mode on the heap table)
// writes both tables in one transaction, switched through the control plane's mirror table.
// One database, one continuous load through the app across three runs: a rollback before the
// swap, a rollback after it, then a completed conversion. The oracle judges at the end of each
// phase where the load can be paused, and at the very end.
const db = useTestDatabase('heap');
const temporal = useTemporal();
const heapApps = useHeapApps(db);

const BASE = { nonProduction: true, sync: 'app-dual-write', appBarrierTimeoutSeconds: 20, copy: { batchSize: 500, sliceSeconds: 2 } } as const;

async function views(pool: Pool): Promise<string[]> {
  const r = await pool.query<{ v: string }>(`SELECT relname AS v FROM pg_class WHERE relkind = 'v' AND relname LIKE 'memory_records%' ORDER BY 1`);
  return r.rows.map((x) => x.v);
}

/** The mirror in the control row, and whether every live instance applied that epoch. */
async function mirrorState(pool: Pool): Promise<{ mirror: string | null; lagging: string[]; live: number }> {
  const row = await getControl(pool, 'memory_records');
  const live = (await listInstances(pool, 'memory_records')).filter((i) => i.live);
  return { mirror: row?.mode.mirrorTable ?? null, live: live.length, lagging: live.filter((i) => i.appliedEpoch < (row?.epoch ?? 0)).map((i) => i.instanceId) };
}

describe('heapToPartitionedConversion with sync "app-dual-write" under load through the app', () => {
  it('rolls back before and after the swap, then converts, with nothing lost and never a trigger', async () => {
    const urls = heapApps.current.instances.map((i) => i.url);
    const seeded = await seedRecords(urls, { count: 3000, months: 6, owners: 40 });
    const load = startLoad({ instances: urls, ratePerSec: 120, owners: 30 });
    const taskQueue = temporal.taskQueue('conv-appdw');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: db.url, adminToken: heapApps.current.adminToken });
    const pool = new Pool({ connectionString: db.url, max: 2 });
    const start = (id: string, extra: Record<string, unknown>) =>
      temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId: `conv-appdw-${id}-${taskQueue}`, args: [{ ...BASE, ...extra }] });
    try {
      await w.runUntil((async () => {
        // 1. Abort at the before-swap gate: the app stops mirroring, the shadow goes, the heap stays.
        const a = await start('before', { retentionMinutes: 0, approvals: { beforeSwap: true } });
        await waitForStatus(a, (s) => s.state === 'waiting-for-approval', 120_000);
        expect(await syncTriggers(pool)).toEqual([]);
        expect(await mirrorState(pool)).toEqual({ mirror: 'memory_records_partitioned', lagging: [], live: 2 });
        await new Promise((r) => setTimeout(r, 1000));
        await a.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'change window closed' }] });
        const sa = (await a.result()) as ConversionSummary;
        expect(sa.outcome).toBe('aborted');
        expect(sa.sync).toBe('app-dual-write');
        expect(sa.rollbacks).toEqual([expect.objectContaining({ branch: expect.stringMatching(/^before-swap: app mirror/) })]);
        expect(await relkinds(pool)).toEqual({ memory_records: 'r', memory_records_partitioned: null, memory_records_old: null });
        expect(await mirrorState(pool)).toEqual({ mirror: null, lagging: [], live: 2 });

        // 2. Abort during retention: swapped back through the mirror on the old table.
        const b = await start('after', { retentionMinutes: 30, approvals: { beforeSwap: false } });
        await waitForStatus(b, (s) => s.phase === 'retention', 120_000);
        expect(await relkinds(pool)).toEqual({ memory_records: 'p', memory_records_partitioned: null, memory_records_old: 'r' });
        expect(await views(pool)).toEqual([]); // the bridge is gone once every instance mirrors to the old table
        expect(await mirrorState(pool)).toEqual({ mirror: 'memory_records_old', lagging: [], live: 2 });
        expect(await syncTriggers(pool)).toEqual([]);
        await new Promise((r) => setTimeout(r, 1500)); // app writes land in the partitioned table and in the old one
        await b.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'latency regression seen' }] });
        const sb = (await b.result()) as ConversionSummary;
        expect(sb.outcome).toBe('aborted');
        expect(sb.swap!.lockHoldMs!).toBeLessThan(1000);
        expect(sb.rollbacks).toEqual([expect.objectContaining({ branch: expect.stringMatching(/^after-swap: swapped back, app mirror/) })]);
        expect(await relkinds(pool)).toEqual({ memory_records: 'r', memory_records_partitioned: null, memory_records_old: null });
        expect(await views(pool)).toEqual([]);
        expect(await mirrorState(pool)).toEqual({ mirror: null, lagging: [], live: 2 });

        // 3. The conversion, to the end.
        const c = await start('complete', { retentionMinutes: 0, approvals: { beforeSwap: false } });
        await waitForStatus(c, (s) => s.state === 'waiting-for-approval', 120_000);
        expect(await relkinds(pool)).toEqual({ memory_records: 'p', memory_records_partitioned: null, memory_records_old: 'r' });
        expect(await mirrorState(pool)).toEqual({ mirror: 'memory_records_old', lagging: [], live: 2 });
        await new Promise((r) => setTimeout(r, 1000));
        // Stop the load to judge both tables exactly: every acknowledged write of all three runs.
        const log = (await load.stop()).merge(seeded);
        expectNothingLost(await checkOracle(log, postgresReader(pool, 'memory_records_old')));
        expectNothingLost(await checkOracle(log, postgresReader(pool, 'memory_records')));
        await c.executeUpdate(approveUpdate, { args: [{ operator: 'frank', reason: 'old table verified', gate: 'drop-old-table' }] });
        const sc = (await c.result()) as ConversionSummary;
        expect(sc.outcome).toBe('completed');
        expect(sc.droppedOldTable).toBe(true);
        expect(sc.swap!.lockHoldMs!).toBeLessThan(1000);
        expect(sc.postSwap).toMatchObject({ ok: true, mirrored: true });
        expect(await relkinds(pool)).toEqual({ memory_records: 'p', memory_records_partitioned: null, memory_records_old: null });
        expect(await views(pool)).toEqual([]);
        expect(await syncTriggers(pool)).toEqual([]);
        expect(await mirrorState(pool)).toEqual({ mirror: null, lagging: [], live: 2 });
        expect((await getControl(pool, 'memory_records'))!.mode).toEqual({ persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false });
      })());
      expect(load.stats().acked).toBeGreaterThan(1000);
      expect(load.stats().failed, JSON.stringify({ byStatus: load.stats().byStatus, failedByOp: load.stats().failedByOp, lastError: load.stats().lastError })).toBe(0);
      const verdict = await checkOracle(load.log /* merged with the seed above */, postgresReader(pool, 'memory_records'));
      expect(verdict.checked).toBeGreaterThan(3000);
      expectNothingLost(verdict);
    } finally {
      await load.stop();
      await pool.end();
    }
  });
});

describe('sync "app-dual-write" preflight', () => {
  const bare = useTestDatabase('heap');

  it('refuses when no app instance is live on the control plane, before anything changes', async () => {
    const taskQueue = temporal.taskQueue('conv-appdw-refused');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: bare.url });
    const err = await w.runUntil(
      temporal.client.workflow.execute('heapToPartitionedConversion', {
        taskQueue, workflowId: `conv-appdw-refused-${taskQueue}`, args: [{ ...BASE, retentionMinutes: 0 }],
      }).then(() => undefined, (e: unknown) => e),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const text = JSON.stringify((err as WorkflowFailedError).cause, Object.getOwnPropertyNames((err as WorkflowFailedError).cause ?? {}));
    expect(text).toMatch(/no live instance of memory_records is registered on the control plane/);
    expect(await relkinds(bare.pool)).toEqual({ memory_records: 'r', memory_records_partitioned: null, memory_records_old: null });
    expect((await bare.pool.query(`SELECT count(*)::int AS n FROM cutover_runs`)).rows[0].n).toBe(0);
  });
});
