import { describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { useHeapApps } from '../helpers/heap-apps';
import { createTestWorker } from '../helpers/worker';
import { waitForStatus } from '../helpers/status';
import { expectNothingLost } from '../helpers/cutover-env';
import { seedRecords } from '../../src/loadgen/seed';
import { startLoad } from '../../src/loadgen/generator';
import { checkOracle, postgresReader } from '../../src/loadgen/oracle';
import { approveUpdate } from '../../workflows/messages';
import type { ConversionSummary } from '../../workflows/conversion';

// The setting: the memory-layer app in Postgres mode against the Phase 2 heap table, the
// load generator writing through it for the whole conversion, the oracle as the judge.
const db = useTestDatabase('heap');
const temporal = useTemporal();
const heapApps = useHeapApps(db);

describe('heapToPartitionedConversion with the app writing through the load generator', () => {
  it('converts the live heap table with nothing lost, in the kept old table during retention and in the final table', async () => {
    const urls = heapApps.current.instances.map((i) => i.url);
    const seeded = await seedRecords(urls, { count: 4000, months: 6, owners: 40 });
    const load = startLoad({ instances: urls, ratePerSec: 150, owners: 30 });
    const taskQueue = temporal.taskQueue('conv-app');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: db.url, adminToken: heapApps.current.adminToken });
    const pool = new Pool({ connectionString: db.url, max: 2 });
    try {
      const summary = (await w.runUntil((async () => {
        const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
          taskQueue,
          workflowId: `conv-app-${taskQueue}`,
          args: [{ nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, copy: { batchSize: 500, sliceSeconds: 2 } }],
        });
        await waitForStatus(handle, (s) => s.state === 'waiting-for-approval', 120_000);
        // Retention: the app now writes to the partitioned table; the old heap keeps up.
        const kinds = await pool.query(`SELECT relname, relkind::text AS k FROM pg_class WHERE relname IN ('memory_records', 'memory_records_old') ORDER BY 1`);
        expect(kinds.rows).toEqual([{ relname: 'memory_records', k: 'p' }, { relname: 'memory_records_old', k: 'r' }]);
        await new Promise((r) => setTimeout(r, 2000));
        // The load ran through copy, parity and swap; stop it to judge both tables exactly.
        const log = (await load.stop()).merge(seeded);
        expectNothingLost(await checkOracle(log, postgresReader(pool, 'memory_records_old')));
        expectNothingLost(await checkOracle(log, postgresReader(pool, 'memory_records')));
        await handle.executeUpdate(approveUpdate, { args: [{ operator: 'frank', reason: 'old table verified', gate: 'drop-old-table' }] });
        return handle.result();
      })())) as ConversionSummary;
      expect(summary.outcome).toBe('completed');
      expect(summary.swap!.lockHoldMs!).toBeLessThan(1000);
      expect(load.stats().acked).toBeGreaterThan(500);
      expect(load.stats().failed).toBe(0);
      const verdict = await checkOracle(load.log, postgresReader(pool, 'memory_records'));
      expect(verdict.checked).toBeGreaterThan(4000);
      expectNothingLost(verdict);
    } finally {
      await load.stop();
      await pool.end();
    }
  });
});
