import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { startSqlLoad, keySql, rowKeyOf } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages, rowVerdictPasses } from '../../src/loadgen/sql/row-oracle';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { parseConversionChoice } from '../../src/conversion/choice/choice';
import { planConversion } from '../../activities/conversion/plan/plan';
import { copyAll, dropOld, runPhase, runPhaseInTransaction } from '../../activities/conversion/generic/execute';
import { APP_ROLE_SQL, INVOICES_SQL } from '../conversion/generic/shapes';

const db = useTestDatabase();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const TABLE = 'billing.invoices';

async function keyOf(): Promise<string> {
  const d = await db.withClient((c) => readTableDescriptor(c, parseTableName(TABLE)));
  return keySql(rowKeyOf(d));
}

describe('the generic SQL load generator and the row-image oracle', () => {
  it('writes any table as the unprivileged app role, and the oracle finds every committed row as logged', async () => {
    await db.pool.query(APP_ROLE_SQL(app));
    await db.pool.query(INVOICES_SQL(app));
    await db.pool.query(`INSERT INTO billing.invoices (customer_id, number, issued_at) SELECT 1 + g % 20, 'S' || g, now() - g * interval '1 day' FROM generate_series(1, 50) g`);
    const key = await keyOf();
    const baseline = await readImages(db.pool, TABLE, key);
    const load = await startSqlLoad({ url: appUrl(), table: TABLE, ratePerSec: 150, durationMs: 2500, seed: 7, baseline });
    const log = await load.done;
    const s = load.stats();
    expect(s.committed, s.lastError).toBeGreaterThan(150);
    // Refusals are the table's own rules at work (here the RLS policy hides and refuses state 'void').
    expect(s.refused, s.lastError).toBeLessThan(s.committed / 3);
    expect(log.committed.insert).toBeGreaterThan(0);
    expect(log.committed.update).toBeGreaterThan(0);
    expect(log.committed.delete).toBeGreaterThan(0);
    // The stamping trigger's values are part of the logged image: the log saw the row after it.
    const some = [...log.entries()].find(([, r]) => r.image && (r.image.writes as number) > 0);
    expect(some, 'an updated row with its trigger-stamped write count').toBeDefined();
    const v = await judgeRows(db.pool, TABLE, key, baseline, log);
    expect(v).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
    expect(v.checked).toBeGreaterThan(50);

    // The oracle fails on each kind of damage.
    const live = log.liveKeys();
    const deleted = [...log.entries()].find(([, r]) => r.image === null)![0];
    await db.pool.query(`DELETE FROM billing.invoices t WHERE ${key} = $1`, [live[0]]);
    await db.pool.query(`UPDATE billing.invoices t SET tags = tags || 'tampered'::text WHERE ${key} = $1`, [live[1]]);
    await db.pool.query(`INSERT INTO billing.invoices (customer_id, number) VALUES (1, 'not-logged')`);
    const gone = log.get(deleted);
    expect(gone?.image).toBeNull();
    await db.pool.query(`INSERT INTO billing.invoices (id, customer_id, number) VALUES ((($1::json)->>0)::bigint, 2, 'back from the dead')`, [deleted]);
    const bad = await judgeRows(db.pool, TABLE, key, baseline, log);
    expect(bad).toMatchObject({ missing: 1, stale: 1, resurrected: 1, extra: 1 });
    expect(rowVerdictPasses(bad)).toBe(false);
  });

  it('a table converted by the plan under the load keeps every committed write (oracle at zero)', async () => {
    await db.pool.query(`TRUNCATE billing.invoices; REFRESH MATERIALIZED VIEW billing.invoice_totals`);
    await db.pool.query(`INSERT INTO billing.invoices (customer_id, number, tags, lines, issued_at) SELECT 1 + g % 20, 'S' || g, ARRAY['a'], '{"x":1}', now() - g * interval '3 hours' FROM generate_series(1, 2000) g`);
    const plan = await db.withClient((c) => planConversion(c, parseConversionChoice({ table: TABLE, partitionBy: { column: 'issued_at', interval: 'day' } })));
    expect(plan.ok, JSON.stringify(plan.blockers)).toBe(true);
    const key = await keyOf();
    const baseline = await readImages(db.pool, TABLE, key);
    const load = await startSqlLoad({ url: appUrl(), table: TABLE, ratePerSec: 120, seed: 11, baseline, spreadDays: 20 });
    try {
      await new Promise((r) => setTimeout(r, 500));
      await db.withClient((c) => runPhase(c, plan, 'shadow'));
      await db.withClient((c) => runPhaseInTransaction(c, plan, 'sync', 200));
      await copyAll(db.pool, plan, 100);
      await new Promise((r) => setTimeout(r, 500));
      await db.withClient((c) => runPhaseInTransaction(c, plan, 'swap', 200));
      await new Promise((r) => setTimeout(r, 800));
      await db.withClient((c) => dropOld(c, plan, 200));
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await load.stop();
    }
    const s = load.stats();
    expect(s.committed, s.lastError).toBeGreaterThan(200);
    // Refusals are the table's own rules at work (here the RLS policy hides and refuses state 'void').
    expect(s.refused, s.lastError).toBeLessThan(s.committed / 3);
    const v = await judgeRows(db.pool, TABLE, key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
    expect((await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = 'billing.invoices'::regclass`)).rows[0].relkind).toBe('p');
  });
});
