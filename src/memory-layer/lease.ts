import { performance } from 'node:perf_hooks';

/**
 * An instance's control-plane lease (self-fencing; the rule is in instance-control.ts and the
 * README's control-plane section). The lease is granted by one renewal cycle — a successful
 * heartbeat write, then a read of the control row whose epoch the instance has applied — and
 * lasts `leaseMs` from the moment the cycle *started*, on the monotonic clock
 * (performance.now): a SIGSTOP, a long GC pause or a blocked event loop spends the lease, and
 * wall-clock steps do not extend it.
 *
 * `leaseMs` must be shorter than the orchestrator's heartbeat TTL: the orchestrator measures the
 * TTL from the heartbeat's commit (later than the cycle's start), so the instance stops
 * acknowledging writes before any barrier may treat it as gone.
 */
export class Lease {
  private validUntil = Number.NEGATIVE_INFINITY;
  private renewedAt = Number.NEGATIVE_INFINITY;
  /** Whether a run was active for the target at the last successful read (false until one). */
  runActive = false;
  /** The error of the last failed renewal, cleared by a successful one. */
  lastError: string | null = null;
  /** When the last renewal failed (monotonic ms), or -Infinity. */
  lastFailureAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly leaseMs: number,
    readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isFinite(leaseMs) || leaseMs <= 0) throw new Error(`lease: leaseMs must be a positive number of milliseconds (got ${leaseMs})`);
  }

  /** A renewal cycle that started at `startedAt` (a value of now()) succeeded. */
  renewed(startedAt: number, runActive: boolean): void {
    this.validUntil = Math.max(this.validUntil, startedAt + this.leaseMs);
    this.renewedAt = Math.max(this.renewedAt, startedAt);
    this.runActive = runActive;
    this.lastError = null;
  }

  failed(err: Error): void {
    this.lastError = err.message;
    this.lastFailureAt = this.now();
  }

  expired(): boolean {
    return this.now() >= this.validUntil;
  }

  /** Milliseconds since the start of the last successful renewal (Infinity when none). */
  sinceRenewalMs(): number {
    return this.now() - this.renewedAt;
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
