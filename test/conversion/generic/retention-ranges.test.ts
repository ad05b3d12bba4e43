import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenericConversionSummary } from '../../../workflows/conversion';
import { approveUpdate, statusQuery } from '../../../workflows/messages';
import { useTestDatabase } from '../../helpers/db';
import { useTemporal } from '../../helpers/temporal';
import { readTableDescriptor, parseTableName } from '../../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../../src/loadgen/sql/row-oracle';
import { rootMessage, startWorker, waitFor } from '../harness';
import { APP_ROLE_SQL } from './shapes';

/**
 * Issue 25, item 4 (after the swap), the retention window of a conversion of any table: each
 * retention check compares the partitioned table with the old heap per key range; a drift (a
 * write the reverse sync lost) is named by its range with both counts in the note, the retention
 * summary and the drop gate's condition, which an approval must then name. Under the generic
 * load as the app role, oracle at zero after the drop.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('retention-ranges');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA shop; GRANT USAGE ON SCHEMA shop TO ${app};
    CREATE TABLE shop.orders (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), total numeric(12,2) NOT NULL);
    INSERT INTO shop.orders (placed_at, total) SELECT now() - g * interval '7 hours', g / 7.0 FROM generate_series(1, 1000) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.orders TO ${app}; GRANT USAGE ON SEQUENCE shop.orders_id_seq TO ${app};`);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

/** The one range (1000 rows and the load's: fewer than a range holds), with both counts. */
const RANGE = /^\(\] \.\. \(end\]: "shop"\."orders" (\d+) rows, "shop"\."orders_old" (\d+)$/;

describe('retention checks of any table per key range', () => {
  it('a write the reverse sync lost is named by its range and counts; the drop then needs an approval naming the drift', async () => {
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName('shop.orders')))));
    const baseline = await readImages(db.pool, '"shop"."orders"', key);
    const load = await startSqlLoad({ url: appUrl(), table: 'shop.orders', ratePerSec: 60, seed: 28, baseline, spreadDays: 60 });
    let summary: GenericConversionSummary;
    try {
      const h = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId: `retention-ranges-${taskQueue}`,
        args: [{ table: 'shop.orders', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 30, retentionCheckMinutes: 0.05, approvals: { beforeSwap: false } }],
      });
      await waitFor('the retention window', async () => (await h.query(statusQuery)).phases.some((p) => p.phase === 'retention' && !p.endedAt), 120_000);
      // A row written by hand (the load never knew it) reaches the old heap by the reverse sync; then it is lost there.
      await db.pool.query(`INSERT INTO shop.orders (id, placed_at, total) VALUES (900000010, now(), 1)`);
      await db.pool.query(`DELETE FROM shop.orders_old WHERE id = 900000010`);
      const drifted = await waitFor('the drift note', async () => (await h.query(statusQuery)).notes.find((n) => n.includes('drifted from')), 120_000);
      expect(drifted).toMatch(/"shop"\."orders_old" drifted from shop\.orders in \(\] \.\. \(end\]: "shop"\."orders" \d+ rows, "shop"\."orders_old" \d+:/);
      // Gone from the table too: the tables agree again (the oracle never knew the row).
      await db.pool.query(`DELETE FROM shop.orders WHERE id = 900000010`);
      await h.executeUpdate(approveUpdate, { args: [{ operator: 'ops', reason: 'enough', gate: 'end-retention' }] });
      await waitFor('the drop gate', async () => (await h.query(statusQuery)).waitingOn?.includes('drop-old-table'), 120_000);
      const st = await h.query(statusQuery);
      expect(st.gateConditions).toEqual([expect.objectContaining({ gate: 'drop-old-table', mustName: expect.arrayContaining(['drift', expect.stringMatching(RANGE)]) })]);
      const refused: unknown = await h.executeUpdate(approveUpdate, { args: [{ operator: 'ops', reason: 'looks fine', gate: 'drop-old-table' }] }).catch((e: unknown) => e);
      expect(rootMessage(refused)).toMatch(/must name it/);
      await h.executeUpdate(approveUpdate, { args: [{ operator: 'ops', reason: 'the drift was a row written and lost by hand, removed since', gate: 'drop-old-table' }] });
      summary = (await h.result()) as GenericConversionSummary;
    } finally {
      await load.stop();
    }
    expect(summary.outcome).toBe('completed');
    expect(summary.retention).toMatchObject({ driftSeen: true, ended: 'ended-early' });
    expect(summary.retention!.drift).toHaveLength(1);
    const [, inTable, inOld] = RANGE.exec(summary.retention!.drift![0])!;
    expect(Number(inTable) - Number(inOld)).toBe(1);
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(20);
    const v = await judgeRows(db.pool, '"shop"."orders"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });
});
