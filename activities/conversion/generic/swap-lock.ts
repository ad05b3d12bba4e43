/**
 * The lock settings of the any-table engine's swap, attach swap and drop (input `swap.*`), and the
 * failure an operator reads when the swap could not take its locks in its tries.
 */
import { Context } from '@temporalio/activity';
import type { LockRetryOptions } from '../locks';
import { nonRetryable } from '../../lib/errors';
import { DEFAULT_LOCK_TRIES } from './execute';

/** How often a swap heartbeats while it runs (its activity's heartbeat timeout is a few of these). */
export const SWAP_BEAT_MS = 1000;

/**
 * Runs a swap activity's body heartbeating every second, whatever it waits on (a try under
 * lock_timeout, the backoff between tries, the log's last replay, a materialized view's refill):
 * a lost worker is noticed within the activity's short heartbeat timeout, and an abort reaches
 * the activity within one throttled heartbeat, ending its backoff (runPhaseInTransaction).
 * Outside an activity (library use) it only runs the body.
 */
export async function heartbeating<T>(what: string, body: () => Promise<T>): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return body();
  }
  ctx.heartbeat({ step: what });
  const timer = setInterval(() => ctx.heartbeat({ step: what }), SWAP_BEAT_MS);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}

/** The swap's retries besides its lock_timeout (LockRetryOptions without it). */
export type SwapRetry = Omit<LockRetryOptions, 'lockTimeoutMs'>;

/** The lock settings of a swap (or drop) from an activity's input: the number alone keeps the retries of runs started before `swapRetry`. */
export function swapLock(i: { lockTimeoutMs: number; swapRetry?: SwapRetry }, minTries = 1): number | LockRetryOptions {
  return i.swapRetry ? { lockTimeoutMs: i.lockTimeoutMs, ...i.swapRetry, maxTries: Math.max(i.swapRetry.maxTries, minTries) } : i.lockTimeoutMs;
}

/** The SwapLockTimeout an operator reads (the workflow waits on it): the tries, the lock_timeout, the cause and the last error. */
export function swapLockTimeout(what: string, table: string, lock: number | LockRetryOptions, err: unknown) {
  const [tries, ms] = typeof lock === 'number' ? [DEFAULT_LOCK_TRIES, lock] : [lock.maxTries, lock.lockTimeoutMs];
  return nonRetryable('SwapLockTimeout', `${what} could not take its locks in ${tries} tries (lock_timeout ${ms} ms) on ${table}: a long transaction probably holds a lock on ${table} (find it in pg_stat_activity); end it, then resume (last: ${(err as Error).message})`, { tries, lockTimeoutMs: ms });
}
