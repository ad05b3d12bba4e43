import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { expectConverted, ordersUnderLoad, startOrdersConversion } from '../helpers/orders-conversion';
import { startWorker } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-parity-partitions');
  env = await startWorker(temporal, db.url, taskQueue);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

/**
 * Issue 25 item 4 (patch generic-parity-by-partition): a new run's parity ranges over the
 * shadow's partitions (the heap has an index on the partition column) and its summary names each
 * partition with its bound, both counts and the keys repaired; under the app role's load, oracle at zero.
 */
describe('heapToPartitionedConversion of any table: parity per partition in the summary', () => {
  it('summary.parity.partitions: every partition holding rows, counts adding up to the parity\'s count', async () => {
    const run = await ordersUnderLoad(db, 'partshop');
    await db.pool.query(`CREATE INDEX ON ${run.table} (placed_at)`);
    const handle = await startOrdersConversion(temporal.client, taskQueue, `generic-parity-partitions-${taskQueue}`, run.table, 0);
    const summary = await expectConverted(db, handle, run.table);
    expect(summary.parity).toMatchObject({ match: true });
    const parts = summary.parity!.partitions!;
    expect(parts, JSON.stringify(summary.parity)).toBeDefined();
    // 600 rows 5 hours apart: about 4 months of history, each its own partition's result.
    expect(parts.filter((p) => Number(p.table) > 0).length).toBeGreaterThanOrEqual(4);
    for (const p of parts) {
      expect(p, JSON.stringify(p)).toMatchObject({ match: true });
      expect(p.bound).toMatch(/^\[.+, .+\)$/);
      expect(p.partition).toMatch(/^orders_p\d{4}_\d{2}$/);
    }
    expect(parts.reduce((n, p) => n + Number(p.table), 0)).toBe(Number(summary.parity!.count));
    const v = await run.judge();
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  }, 600_000);
});
