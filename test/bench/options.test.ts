import { describe, expect, it } from 'vitest';
import { checkSizes } from '../../bench/guard';
import { BenchUsageError, FULL_ROWS, FULL_SIZES, parseBenchArgs, parseSizes } from '../../bench/options';
describe('bench sizes (bench/options.ts)', () => {
  it('a full run measures B1–B3 at 100k and 1M rows and keeps B4–B7 at their base of 200k', () => {
    const o = parseBenchArgs([]);
    expect(o.sizes).toEqual([100_000, 1_000_000]);
    expect(o.sizes).toEqual([...FULL_SIZES]);
    expect(o.rows).toBe(FULL_ROWS);
    expect(o.sizesFrom).toBe('full run');
    expect(o.quick).toBe(false);
  });

  it('--quick is one size of 20k rows; --rows N keeps its single-size meaning', () => {
    expect(parseBenchArgs(['--quick'])).toMatchObject({ quick: true, rows: 20_000, sizes: [20_000], sizesFrom: '--quick', modeSeconds: 4 });
    expect(parseBenchArgs(['--rows', '50000'])).toMatchObject({ rows: 50_000, sizes: [50_000], sizesFrom: '--rows' });
    expect(parseBenchArgs(['--quick', '--rows=30000'])).toMatchObject({ quick: true, rows: 30_000, sizes: [30_000] });
  });

  it('--sizes sets B1–B3 sizes (ascending, distinct, 100k/1M suffixes) and leaves --rows to B4–B7', () => {
    expect(parseBenchArgs(['--sizes', '1000000,100000'])).toMatchObject({ sizes: [100_000, 1_000_000], rows: FULL_ROWS, sizesFrom: '--sizes' });
    expect(parseBenchArgs(['--sizes=100k,1M,100000'])).toMatchObject({ sizes: [100_000, 1_000_000] });
    expect(parseBenchArgs(['--quick', '--sizes', '10k,20k'])).toMatchObject({ rows: 20_000, sizes: [10_000, 20_000] });
    expect(parseBenchArgs(['--rows', '40000', '--sizes', '20000'])).toMatchObject({ rows: 40_000, sizes: [20_000] });
    expect(parseSizes('1_000_000')).toEqual([1_000_000]);
  });

  it('refuses bad --sizes, naming the flag and the bounds', () => {
    for (const bad of ['', 'abc', '100,1000', '100000,x', '20000001', '1.5M', '-5000']) {
      expect(() => parseBenchArgs(['--sizes', bad]), bad).toThrow(BenchUsageError);
      expect(() => parseBenchArgs(['--sizes', bad]), bad).toThrow(/--sizes takes a comma-separated list of row counts from 1000 to 10000000/);
    }
    expect(() => parseBenchArgs(['--sizes'])).toThrow(/--sizes takes/);
    expect(() => parseBenchArgs(['--sizes', '1k,2k,3k,4k,5k'])).toThrow(/at most 4 sizes/);
    expect(() => parseBenchArgs(['--size', '1000'])).toThrow(/unknown argument "--size"[\s\S]*usage: .*--sizes N,M/);
  });

  it('refuses up front the largest size B1/B3 cannot hold, whichever flag chose it', () => {
    const budget = 500_000;
    expect(() => checkSizes(parseBenchArgs([]), budget)).toThrow(/the full run's largest size \(1000000 rows; sizes 100000, 1000000\) is too large for B1 and B3: .*--sizes with every size ≤ 500000/);
    expect(() => checkSizes(parseBenchArgs(['--sizes', '100k,600k', '--only', 'B3']), budget)).toThrow(/--sizes 100000,600000 \(600000 rows\) is too large for B3/);
    expect(() => checkSizes(parseBenchArgs(['--rows', '600000']), budget)).toThrow(/--rows 600000 is too large for B1 and B3: .*--rows ≤ 500000/);
    expect(() => checkSizes(parseBenchArgs(['--sizes', '100k,500k']), budget)).not.toThrow();
    // B2 seeds Postgres, not the process: any size is fine.
    expect(() => checkSizes(parseBenchArgs(['--only', 'B2,B4']), budget)).not.toThrow();
  });
});
