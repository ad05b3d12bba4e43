/**
 * Token bucket pacing: tokens accrue at `ratePerSec` up to `burst`; each operation takes one.
 * The burst cap is what keeps a client from hammering a service that just recovered from a
 * stall with everything it "owes" (at most `burst` operations at once), while short timer
 * jitter is still made up so the average rate holds. Time is passed in (ms) so the policy can
 * be tested without a clock.
 */
// Refills add fractions (0.1 token per ms at 100/s); without a tolerance their rounding error
// would lose a token now and then.
const EPSILON = 1e-9;

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    now: number,
    initialTokens = 1,
  ) {
    if (!(ratePerSec > 0) || !(burst >= 1)) throw new Error(`TokenBucket: ratePerSec must be > 0 and burst ≥ 1, got ${ratePerSec}, ${burst}`);
    this.tokens = Math.min(burst, initialTokens);
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1000);
      this.last = now;
    }
  }

  /** Takes a token if one is available at `now`. */
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1 - EPSILON) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds from `now` until a token will be available (0 if one is). */
  msUntilNext(now: number): number {
    this.refill(now);
    return this.tokens >= 1 - EPSILON ? 0 : ((1 - this.tokens) * 1000) / this.ratePerSec;
  }
}
