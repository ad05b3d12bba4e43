import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion } from '../../../activities/conversion/plan/plan';
import { summarisePlan } from '../../../activities/conversion/generic/activities';

const db = useTestDatabase();
const choice = parseConversionChoice({ table: 'readings', partitionBy: { column: 'at', interval: 'month' } });

/** Plans, recording every statement that reads the table's rows (FROM <the table>; the catalog reads name it only as a parameter). */
async function planCountingScans(facts?: Parameters<typeof planConversion>[3]) {
  return db.withClient(async (c) => {
    const scans: string[] = [];
    const query = c.query.bind(c) as (...a: unknown[]) => unknown;
    const counting = new Proxy(c, {
      get: (t, k) => (k === 'query' ? (...a: unknown[]) => {
        if (typeof a[0] === 'string' && /FROM\s+(\S+\.)?"?readings"?(\s|$)/i.test(a[0])) scans.push(a[0]);
        return query(...a);
      } : Reflect.get(t, k)),
    });
    const p = await planConversion(counting, choice, Date.UTC(2026, 5, 1), facts);
    return { p, scans: scans.length };
  });
}

describe('the plan\'s data facts: read once at preflight, carried after', () => {
  it('plans from carried facts without scanning the table, and plans the same partitions as the scan did', async () => {
    await db.pool.query(`CREATE TABLE readings (id bigint PRIMARY KEY, at timestamptz NOT NULL, v int);
      INSERT INTO readings SELECT g, timestamptz '2026-01-03' + g * interval '1 hour', g FROM generate_series(1, 3000) g`);
    const scanned = await planCountingScans();
    expect(scanned.scans).toBeGreaterThan(0);
    expect(scanned.p.facts).toMatchObject({ rows: 3000, minDay: '2026-01-03', maxDay: '2026-05-08' });
    // The summary the workflow records carries them into every later activity's input.
    expect(summarisePlan(scanned.p).facts).toEqual(scanned.p.facts);

    const carried = await planCountingScans(scanned.p.facts);
    expect(carried.scans).toBe(0);
    expect(carried.p.partitions).toEqual(scanned.p.partitions);
    expect(carried.p.phases).toEqual(scanned.p.phases);
    expect(carried.p.size.rows).toBe(3000);
  });
});
