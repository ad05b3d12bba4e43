import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../helpers/db';
import { floorTo, INTERVALS, nextStart, partitionName, partitionSuffix, partitionSuffixSql } from '../../../src/conversion/choice/intervals';
import { withSuffix } from '../../../src/conversion/choice/names';

const db = useTestDatabase();

describe('partition names and bounds, one scheme per interval, in UTC', () => {
  it('names the documented examples', () => {
    const t = Date.UTC(2026, 11, 2, 23, 59);
    expect(INTERVALS.map((i) => partitionName('orders', i, floorTo(i, t)))).toEqual(['orders_p2026_12_02', 'orders_p2026w49', 'orders_p2026_12', 'orders_p2026q4', 'orders_p2026']);
    expect(new Date(floorTo('week', t)).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(new Date(nextStart('quarter', floorTo('quarter', t))).toISOString()).toBe('2027-01-01T00:00:00.000Z');
    // ISO weeks: 2027-01-01 is a Friday of week 53 of 2026.
    expect(partitionSuffix('week', floorTo('week', Date.UTC(2027, 0, 1)))).toBe('_p2026w53');
    expect(withSuffix('x'.repeat(70), '_p2026_12_02')).toHaveLength(63);
  });

  it('the SQL side names every partition exactly as the plan does (the sync creates missing ones by that name)', async () => {
    const days = Array.from({ length: 800 }, (_, i) => Date.UTC(2024, 11, 20) + i * 86_400_000 + (i % 24) * 3_600_000);
    for (const interval of INTERVALS) {
      const r = await db.pool.query<{ s: string }>(
        `SELECT ${partitionSuffixSql(interval, `(t AT TIME ZONE 'UTC')`)} AS s FROM unnest($1::timestamptz[]) WITH ORDINALITY u(t, i) ORDER BY i`,
        [days.map((d) => new Date(d).toISOString())]);
      expect(r.rows.map((x) => x.s), interval).toEqual(days.map((d) => partitionSuffix(interval, floorTo(interval, d))));
    }
  });
});
