import { performance } from 'node:perf_hooks';

/**
 * An instance's control-plane lease (self-fencing; the rule is in instance-control.ts and the
 * README's control-plane section). The lease is granted by one renewal cycle — a successful
 * heartbeat write, then a read of the control row whose epoch the instance has applied — and
 * lasts `leaseMs` from the moment the cycle *started*, measured on two clocks, and expires as soon
 * as either says so: the monotonic clock (performance.now), so a SIGSTOP, a long GC pause or a
 * blocked event loop spends it and a wall-clock step back does not extend it; and the wall clock
 * (Date.now), because the monotonic clock does not advance while the host is suspended
 * (CLOCK_MONOTONIC, not CLOCK_BOOTTIME): a suspended host's lease ends with the suspend. A wall
 * step forward can only end a lease early (a write waits for a fresh cycle: the safe side).
 *
 * `leaseMs` must be shorter than the orchestrator's heartbeat TTL: the orchestrator measures the
 * TTL from the heartbeat's commit (later than the cycle's start), so the instance stops
 * acknowledging writes before any barrier may treat it as gone.
 */
/** A moment on both clocks (a renewal cycle's start). */
export interface LeaseStamp {
  mono: number;
  wall: number;
}

export class Lease {
  private validUntil = Number.NEGATIVE_INFINITY;
  private renewedAt = Number.NEGATIVE_INFINITY;
  private validUntilWall = Number.NEGATIVE_INFINITY;
  private renewedAtWall = Number.NEGATIVE_INFINITY;
  /** Whether a run was active for the target at the last successful read (false until one). */
  runActive = false;
  /** The error of the last failed renewal, cleared by a successful one. */
  lastError: string | null = null;
  /** When the last renewal failed (monotonic ms), or -Infinity. */
  lastFailureAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly leaseMs: number,
    readonly now: () => number = () => performance.now(),
    readonly wall: () => number = () => Date.now(),
  ) {
    if (!Number.isFinite(leaseMs) || leaseMs <= 0) throw new Error(`lease: leaseMs must be a positive number of milliseconds (got ${leaseMs})`);
  }

  /** Now on both clocks: take it when a renewal cycle starts. */
  stamp(): LeaseStamp {
    return { mono: this.now(), wall: this.wall() };
  }

  /** A renewal cycle that started at `startedAt` (a value of stamp()) succeeded. */
  renewed(startedAt: LeaseStamp, runActive: boolean): void {
    this.validUntil = Math.max(this.validUntil, startedAt.mono + this.leaseMs);
    this.renewedAt = Math.max(this.renewedAt, startedAt.mono);
    this.validUntilWall = Math.max(this.validUntilWall, startedAt.wall + this.leaseMs);
    this.renewedAtWall = Math.max(this.renewedAtWall, startedAt.wall);
    this.runActive = runActive;
    this.lastError = null;
  }

  failed(err: Error): void {
    this.lastError = err.message;
    this.lastFailureAt = this.now();
  }

  /** Expired when either clock says so (see the class comment). */
  expired(): boolean {
    return this.now() >= this.validUntil || this.wall() >= this.validUntilWall;
  }

  /** Milliseconds since the start of the last successful renewal, the larger of the two clocks (Infinity when none). */
  sinceRenewalMs(): number {
    return Math.max(this.now() - this.renewedAt, this.wall() - this.renewedAtWall);
  }
}

/**
 * A write refused (HTTP 503 with Retry-After) because the instance's lease expired while a run
 * is active for its target: its mode may be stale, so it acknowledges nothing until it has
 * re-read the control row.
 */
export class FencedError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'FencedError';
  }
}

/** What the dual store asks before a write (admit) and before acknowledging it (confirm). */
export interface WriteFence {
  /** Resolves with a token for confirm(), or throws FencedError. Called outside the mode gate. */
  admit(): Promise<number>;
  /** Throws FencedError when the write must not be acknowledged. Called outside the mode gate. */
  confirm(token: number): Promise<void>;
}

export const NO_FENCE: WriteFence = {
  admit: () => Promise.resolve(0),
  confirm: () => Promise.resolve(),
};
