import type { Pool, PoolClient } from 'pg';
import { Context } from '@temporalio/activity';
import { checkout } from '../../src/config/pg-checkout';
import { sqlState, SQLSTATE } from '../../src/shared/pg-errors';

export interface LockRetryOptions {
  /** `SET LOCAL lock_timeout` for each try, in milliseconds. */
  lockTimeoutMs: number;
  /** Tries before giving up (the caller decides what giving up means). */
  maxTries: number;
  /** First backoff; doubles each try, with full jitter, capped at `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
}

export class LockRetriesExhausted extends Error {
  constructor(
    public readonly what: string,
    public readonly tries: number,
    public readonly lastMessage: string,
  ) {
    super(`${what}: could not take its locks within lock_timeout in ${tries} tries (last: ${lastMessage}); ` +
      `a long transaction is probably holding a lock on the table — find it in pg_stat_activity, then retry`);
    this.name = 'LockRetriesExhausted';
  }
}

/** The backoff after the failed try `attempt` (1-based): `backoffMs` doubled per try, capped at `maxBackoffMs`, full jitter on its upper half. */
export function lockBackoffMs(opts: Pick<LockRetryOptions, 'backoffMs' | 'maxBackoffMs'>, attempt: number): number {
  const cap = Math.min(opts.maxBackoffMs, opts.backoffMs * 2 ** (attempt - 1));
  return cap / 2 + Math.random() * (cap / 2);
}

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // outside an activity (library use): nothing to heartbeat
  }
}

/**
 * Runs `body` in ONE transaction whose lock waits are bounded by `lock_timeout`, retrying on
 * SQLSTATE lock_not_available (55P03) with exponential backoff and jitter. Why: an ACCESS EXCLUSIVE request that
 * waits in the lock queue blocks every writer queued behind it; a short lock_timeout bounds
 * that stall to the timeout, and backing off lets the blocking transaction finish.
 */
export async function inLockBoundedTransaction<T>(
  pool: Pool,
  what: string,
  opts: LockRetryOptions,
  body: (c: PoolClient) => Promise<T>,
): Promise<{ result: T; tries: number; transactionMs: number }> {
  let last = '';
  for (let attempt = 1; attempt <= opts.maxTries; attempt++) {
    const c = await checkout(pool);
    const t0 = performance.now();
    try {
      await c.query('BEGIN');
      await c.query(`SELECT set_config('lock_timeout', $1, true)`, [`${opts.lockTimeoutMs}ms`]);
      const result = await body(c);
      await c.query('COMMIT');
      return { result, tries: attempt, transactionMs: performance.now() - t0 };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      if (sqlState(err) !== SQLSTATE.lockNotAvailable) throw err;
      last = (err as Error).message;
    } finally {
      c.release();
    }
    heartbeat({ what, attempt, last });
    if (attempt < opts.maxTries) await sleep(lockBackoffMs(opts, attempt));
  }
  throw new LockRetriesExhausted(what, opts.maxTries, last);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
