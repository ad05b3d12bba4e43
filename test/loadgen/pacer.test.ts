import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/loadgen/pacer';

/** Takes every token available at `now`. */
function drain(b: TokenBucket, now: number): number {
  let n = 0;
  while (b.tryTake(now)) n++;
  return n;
}

describe('token bucket pacing', () => {
  it('releases tokens at the rate', () => {
    const b = new TokenBucket(100, 100, 0);
    expect(drain(b, 0)).toBe(1); // starts with one token, not a burst
    let taken = 0;
    for (let t = 1; t <= 2000; t++) taken += drain(b, t);
    expect(taken).toBe(200);
  });

  it('catches up at most `burst` operations after a stall', () => {
    const b = new TokenBucket(100, 100, 0);
    drain(b, 0);
    // Five seconds without a chance to send (a stalled service, a blocked event loop).
    expect(drain(b, 5000)).toBe(100);
    expect(drain(b, 5000)).toBe(0);
    expect(drain(b, 5010)).toBe(1);
  });

  it('says how long until the next token', () => {
    const b = new TokenBucket(50, 50, 0);
    expect(b.msUntilNext(0)).toBe(0);
    b.tryTake(0);
    expect(b.msUntilNext(0)).toBeCloseTo(20);
    expect(b.msUntilNext(15)).toBeCloseTo(5);
    expect(b.msUntilNext(20)).toBe(0);
  });

  it('rejects a zero rate', () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(/ratePerSec must be > 0/);
  });
});
