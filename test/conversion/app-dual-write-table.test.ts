import { describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { useHeapApps } from '../helpers/heap-apps';
import { createTestWorker } from '../helpers/worker';
import { expectNothingLost } from '../helpers/cutover-env';
import { seedRecords } from '../../src/loadgen/seed';
import { startLoad } from '../../src/loadgen/generator';
import { checkOracle, postgresReader } from '../../src/loadgen/oracle';
import { getControl } from '../../src/memory-layer/control-plane';
import { fetchRunChain } from '../../src/audit/chain';
import { approveUpdate } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { relkinds, syncTriggers } from './harness';

// Sync "app-dual-write" in the form WITH `table` (the any-table engine's option): memory_records
// named as any table, its app (the memory-layer service, Postgres mode on the heap) mirroring every
// write, a history budget small enough that the run hands over during the row copy and the
// parity. Each continued run must keep the app's sync (decided once, carried): a run that forgot
// it would take the trigger's path (a change log, a trigger) and fail at the swap.
const db = useTestDatabase('heap');
const temporal = useTemporal();
const heapApps = useHeapApps(db);

type Started = { events?: { workflowExecutionStartedEventAttributes?: { input?: { payloads?: Payload[] | null } | null } | null }[] | null };

describe('heapToPartitionedConversion of a table with sync "app-dual-write"', () => {
  it('hands over during the copy and keeps the app sync in every run of the chain; never a trigger, nothing lost', async () => {
    const urls = heapApps.current.instances.map((i) => i.url);
    const seeded = await seedRecords(urls, { count: 3000, months: 6, owners: 40 });
    const load = startLoad({ instances: urls, ratePerSec: 80, owners: 30 });
    const taskQueue = temporal.taskQueue('conv-appdw-table');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: db.url, adminToken: heapApps.current.adminToken });
    const pool = new Pool({ connectionString: db.url, max: 2 });
    const workflowId = `conv-appdw-table-${taskQueue}`;
    const triggersSeen = new Set<string>();
    try {
      const summary = await w.runUntil((async () => {
        const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
          taskQueue, workflowId,
          args: [{
            table: 'memory_records', partitionBy: { column: 'created_at', interval: 'month' }, options: { maintenance: { schedule: false } },
            sync: 'app-dual-write', appBarrierTimeoutSeconds: 20, nonProduction: true, retentionMinutes: 0,
            approvals: { beforeSwap: false }, copy: { batchSize: 20, sliceSeconds: 1, maxRowsPerSecond: 120, parityRangeRows: 200 }, history: { maxEvents: 100 },
          }],
        });
        await handle.executeUpdate(approveUpdate, { args: [{ operator: 'ana', reason: 'drop approved in the change ticket', gate: 'drop-old-table' }] });
        let finished = false;
        const result = handle.result().finally(() => (finished = true));
        while (!finished) {
          for (const t of await syncTriggers(pool)) triggersSeen.add(t);
          await new Promise((r) => setTimeout(r, 300));
        }
        return (await result) as GenericConversionSummary;
      })());
      expect(summary.outcome, summary.cause).toBe('completed');
      expect(summary.sync).toBe('app-dual-write');
      expect(summary.droppedOldTable).toBe(true);
      expect(summary.postSwap).toMatchObject({ match: true, mirrored: true });
      expect(summary.swap?.mirror?.acknowledged.sort()).toEqual(heapApps.current.instances.map((i) => i.instanceId).sort());
      expect([...triggersSeen]).toEqual([]);

      // The chain: handed over during the copy; every continued run carried the app's sync and the row copy (no change log).
      const chain = await fetchRunChain(temporal.client.workflow, workflowId);
      expect(chain.length).toBeGreaterThan(1);
      expect(summary.history?.runs).toBe(chain.length);
      expect(summary.history!.continuedAt.map((c) => c.handedOverAt), JSON.stringify({ copy: summary.copy, phases: summary.phases.map((p) => p.phase) })).toContain('copy');
      for (const h of chain.slice(1)) {
        const p = (h as Started).events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
        const c = (defaultPayloadConverter.fromPayload(p) as { continued: { decided?: Record<string, unknown> } }).continued;
        expect(c.decided).toEqual({ handOver: true, sliced: true, sync: 'app-dual-write' });
      }
      expect(summary.copy!.slices).toBeGreaterThan(2);

      expect(await relkinds(pool)).toEqual({ memory_records: 'p', memory_records_partitioned: null, memory_records_old: null });
      expect((await getControl(pool, 'memory_records'))!.mode).toEqual({ persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false });
      const log = (await load.stop()).merge(seeded);
      expect(load.stats().failed, JSON.stringify({ byStatus: load.stats().byStatus, lastError: load.stats().lastError })).toBe(0);
      expect(load.stats().acked).toBeGreaterThan(200);
      const verdict = await checkOracle(log, postgresReader(pool, 'memory_records'));
      expect(verdict.checked).toBeGreaterThan(3000);
      expectNothingLost(verdict);
    } finally {
      await load.stop();
      await pool.end();
    }
  });
});
