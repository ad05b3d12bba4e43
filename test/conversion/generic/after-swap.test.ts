import { describe, expect, it } from 'vitest';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { afterSwapPlan } from '../../../activities/conversion/plan/after-swap';
import { partitionStarts } from '../../../activities/conversion/plan/plan';
import { InputError } from '../../../workflows/common/validate';

const NOW = Date.UTC(2026, 11, 6, 18, 0);
const table = { schema: 'SalesEU', name: 'Order Events' };

describe('the plan says how the table keeps working after the swap (issue 22, Deliver 4)', () => {
  it('premakes generously by default: a day table 45 days ahead, a month table 4 months; the Schedule is made', () => {
    const day = parseConversionChoice({ table: '"SalesEU"."Order Events"', partitionBy: { column: 'at', interval: 'day' } });
    const starts = partitionStarts(day, { rows: 0, minDay: '2026-11-20', maxDay: '2026-12-06', min: null, max: null, nulls: 0, outside: 0 }, NOW);
    const a = afterSwapPlan(table, day, 'timestamp with time zone', starts, 'shop');
    expect(a.premake).toBe(45);
    expect(a.partitionsUntil).toBe('2027-01-21T00:00:00.000Z'); // 6 Dec + 45 days, exclusive end of the last
    expect(a.maintenance).toEqual({ schedule: true, scheduleId: 'partition-maintenance:shop:SalesEU."Order Events"', everyHours: 24, input: { table: 'SalesEU."Order Events"', premake: 45 } });
    expect(a.beyondRange).toMatch(/refused by Postgres \(23514/);
    const month = parseConversionChoice({ table: 'x', partitionBy: { column: 'at', interval: 'month' } });
    expect(month.options.premake).toBe(4);
  });

  it('with maintenance.schedule false the plan says why there is no Schedule and what that means', () => {
    const c = parseConversionChoice({ table: '"SalesEU"."Order Events"', partitionBy: { column: 'at', interval: 'day' }, options: { maintenance: { schedule: false } } });
    const a = afterSwapPlan(table, c, 'timestamp with time zone', [NOW], 'shop');
    expect(a.maintenance.schedule).toBe(false);
    expect((a.maintenance as { why: string }).why).toMatch(/options\.maintenance\.schedule is false: no partitionMaintenance Schedule is made for SalesEU\."Order Events"; after .* writes are refused unless partitions are made/);
    expect(a.beyondRange).toMatch(/nothing keeps partitions ahead after the run/);
    expect(() => parseConversionChoice({ table: 'x', partitionBy: { column: 'at', interval: 'day' }, options: { maintenance: { everyHours: 0 } } })).toThrow(InputError);
    expect(() => parseConversionChoice({ table: 'x', partitionBy: { column: 'at', interval: 'day' }, options: { maintenance: { when: 'daily' } } })).toThrow(/options\.maintenance/);
  });

  it('with a DEFAULT partition a write outside every partition goes there', () => {
    const c = parseConversionChoice({ table: 'x', partitionBy: { column: 'at', interval: 'month' }, options: { defaultPartition: true } });
    expect(afterSwapPlan({ schema: 'public', name: 'x' }, c, 'date', [NOW]).beyondRange).toMatch(/goes to the DEFAULT partition x_default/);
  });
});
