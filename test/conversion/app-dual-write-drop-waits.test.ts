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
import { getControl } from '../../src/memory-layer/control-plane';
import { abortUpdate, approveUpdate } from '../../workflows/messages';
import { relkinds } from './harness';

// Found by review: with sync "app-dual-write" the drop of the old table first stops the app's
// mirror into it; when the drop then waits (a view still depends on the old table) and the
// operator aborts, swapping back would put the old table in use without every write since the
// mirror stopped. The swap back is refused instead: the partitioned table stays in use with every
// acknowledged write, the old table aside, the run failed with what to do by hand.
const db = useTestDatabase('heap');
const temporal = useTemporal();
const heapApps = useHeapApps(db);

describe('sync "app-dual-write": an abort after the drop stopped the mirror', () => {
  it('refuses to swap back onto the stale old table; nothing acknowledged is lost from the table in use', async () => {
    const urls = heapApps.current.instances.map((i) => i.url);
    const seeded = await seedRecords(urls, { count: 1500, months: 4, owners: 20 });
    const load = startLoad({ instances: urls, ratePerSec: 80, owners: 20 });
    const taskQueue = temporal.taskQueue('conv-appdw-dropwaits');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: db.url, adminToken: heapApps.current.adminToken });
    const pool = new Pool({ connectionString: db.url, max: 2 });
    try {
      await w.runUntil((async () => {
        const h = await temporal.client.workflow.start('heapToPartitionedConversion', {
          taskQueue, workflowId: `conv-appdw-dropwaits-${taskQueue}`,
          args: [{ nonProduction: true, sync: 'app-dual-write', appBarrierTimeoutSeconds: 20, retentionMinutes: 0, approvals: { beforeSwap: false }, copy: { batchSize: 500, sliceSeconds: 2 } }],
        });
        await waitForStatus(h, (s) => s.state === 'waiting-for-approval', 120_000);
        // A report's view on the old table: the drop waits for an operator after the mirror was stopped.
        await pool.query(`CREATE VIEW report_on_old AS SELECT id FROM memory_records_old`);
        await h.executeUpdate(approveUpdate, { args: [{ operator: 'frank', reason: 'drop it', gate: 'drop-old-table' }] });
        const waiting = await waitForStatus(h, (s) => s.state === 'waiting-for-operator', 60_000);
        expect(waiting.waitingOn).toMatch(/report_on_old/);
        expect((await getControl(pool, 'memory_records'))!.mode.mirrorTable).toBeUndefined();
        await new Promise((r) => setTimeout(r, 1500)); // app writes land in the partitioned table alone
        await h.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'changed my mind' }] });
        const err = await h.result().then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(WorkflowFailedError);
        const text = JSON.stringify((err as WorkflowFailedError).cause, Object.getOwnPropertyNames((err as WorkflowFailedError).cause ?? {}));
        expect(text).toMatch(/refusing to swap back: the control row of memory_records mirrors to nothing, not memory_records_old/);
        // The partitioned table stays in use; the old one aside.
        expect(await relkinds(pool)).toEqual({ memory_records: 'p', memory_records_partitioned: null, memory_records_old: 'r' });
      })());
      const log = (await load.stop()).merge(seeded);
      expect(load.stats().failed, JSON.stringify(load.stats().lastError)).toBe(0);
      expectNothingLost(await checkOracle(log, postgresReader(pool, 'memory_records')));
    } finally {
      await load.stop();
      await pool.query('DROP VIEW IF EXISTS report_on_old').catch(() => undefined);
      await pool.end();
    }
  });
});
