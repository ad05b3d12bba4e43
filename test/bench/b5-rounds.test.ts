import { describe, expect, it } from 'vitest';
import { B5_ROUNDS, median } from '../../bench/b5-dual-write';

describe('B5 rounds', () => {
  it('reports the median round: the middle one, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([40, 7, 20, 56])).toBe(30);
    expect(median([5])).toBe(5);
  });

  it('runs an even number of rounds, so forward and reverse orders are as many', () => {
    expect(B5_ROUNDS % 2).toBe(0);
    expect(B5_ROUNDS).toBeGreaterThanOrEqual(4);
  });
});
