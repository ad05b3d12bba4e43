import { ApplicationFailure } from '@temporalio/common';
import type { PoolClient } from 'pg';
import type { ActivityDeps } from '../index';
import { inLockBoundedTransaction, LockRetriesExhausted, type LockRetryOptions } from './locks';
import { compareMonths, type MonthParity } from './parity';
import { relkind } from './preflight';
import { CREATE_REVERSE_TRIGGER_SQL, FORWARD_FN, FORWARD_TRIGGER, HEAP, OLD, REVERSE_FN, REVERSE_FN_SQL, REVERSE_TRIGGER, SHADOW } from './sql';

export interface SwapResult {
  /** The swap had already happened (a retry after a lost result). */
  alreadySwapped: boolean;
  tries: number;
  /** Time the ACCESS EXCLUSIVE locks were held, measured by clock_timestamp() in the transaction. */
  lockHoldMs: number | null;
  /** Wall time of the successful transaction, BEGIN to COMMIT acknowledged. */
  transactionMs: number | null;
}

async function lockHeldMs(c: PoolClient, from: string): Promise<number> {
  const r = await c.query<{ ms: string }>(`SELECT (extract(epoch FROM clock_timestamp() - $1::timestamptz) * 1000)::text AS ms`, [from]);
  return Number(r.rows[0].ms);
}

async function state(c: PoolClient): Promise<{ heap: string | null; shadow: string | null; old: string | null }> {
  return { heap: await relkind(c, HEAP), shadow: await relkind(c, SHADOW), old: await relkind(c, OLD) };
}

function swapLockTimeout(err: LockRetriesExhausted): ApplicationFailure {
  return ApplicationFailure.create({ message: err.message, type: 'SwapLockTimeout', nonRetryable: true, details: [{ tries: err.tries }] });
}

export function createSwapActivities(deps: Pick<ActivityDeps, 'profiles'>) {
  return {
    /**
     * The atomic swap, ONE transaction under a short lock_timeout: lock both tables (same order
     * as writers: heap, then shadow through its trigger), rename heap → memory_records_old and
     * shadow → memory_records, drop the forward sync and install the reverse sync on the new
     * memory_records, so the old table keeps receiving every write during retention.
     * 55P03 → retried with backoff and jitter; after `maxTries` a non-retryable SwapLockTimeout
     * (the workflow waits for an operator). Idempotent: an already-swapped state is reported.
     */
    async swapTables(input: { profile: string; lock: LockRetryOptions }): Promise<SwapResult> {
      const pool = deps.profiles.pool(input.profile);
      const before = await deps.profiles.withClient(input.profile, state);
      if (before.heap === 'p' && before.old === 'r' && before.shadow === null) {
        return { alreadySwapped: true, tries: 0, lockHoldMs: null, transactionMs: null };
      }
      if (before.heap !== 'r' || before.shadow !== 'p' || before.old !== null) {
        throw ApplicationFailure.nonRetryable(`cannot swap: expected heap ${HEAP}, partitioned ${SHADOW} and no ${OLD}; found ${JSON.stringify(before)}`, 'PreflightFailed');
      }
      try {
        const { result, tries, transactionMs } = await inLockBoundedTransaction(pool, 'swap', input.lock, async (c) => {
          await c.query(`LOCK TABLE ${HEAP}, ${SHADOW} IN ACCESS EXCLUSIVE MODE`);
          const t0 = (await c.query<{ t: string }>(`SELECT clock_timestamp()::text AS t`)).rows[0].t;
          await c.query(`ALTER TABLE ${HEAP} RENAME TO ${OLD}`);
          await c.query(`ALTER TABLE ${SHADOW} RENAME TO ${HEAP}`);
          await c.query(`DROP TRIGGER IF EXISTS ${FORWARD_TRIGGER} ON ${OLD}`);
          await c.query(REVERSE_FN_SQL);
          await c.query(CREATE_REVERSE_TRIGGER_SQL);
          return lockHeldMs(c, t0);
        });
        await deps.profiles.withClient(input.profile, (c) => c.query(`DROP FUNCTION IF EXISTS ${FORWARD_FN}()`));
        return { alreadySwapped: false, tries, lockHoldMs: result, transactionMs };
      } catch (err) {
        if (err instanceof LockRetriesExhausted) throw swapLockTimeout(err);
        throw err;
      }
    },

    /**
     * Rollback after the swap: the mirror image, in one transaction: memory_records →
     * memory_records_partitioned, memory_records_old → memory_records, reverse sync dropped.
     * Nothing is lost: the reverse trigger kept the old table equal to the partitioned one.
     * Lock exhaustion here is retryable (Temporal retries with backoff): a rollback must finish.
     */
    async swapBack(input: { profile: string; lock: LockRetryOptions }): Promise<SwapResult> {
      const pool = deps.profiles.pool(input.profile);
      const before = await deps.profiles.withClient(input.profile, state);
      if (before.heap === 'r' && before.old === null) return { alreadySwapped: true, tries: 0, lockHoldMs: null, transactionMs: null };
      if (before.heap !== 'p' || before.old !== 'r' || before.shadow !== null) {
        throw ApplicationFailure.nonRetryable(`cannot swap back: expected partitioned ${HEAP}, heap ${OLD} and no ${SHADOW}; found ${JSON.stringify(before)}`, 'PreflightFailed');
      }
      const { result, tries, transactionMs } = await inLockBoundedTransaction(pool, 'swap back', input.lock, async (c) => {
        await c.query(`LOCK TABLE ${HEAP}, ${OLD} IN ACCESS EXCLUSIVE MODE`);
        const t0 = (await c.query<{ t: string }>(`SELECT clock_timestamp()::text AS t`)).rows[0].t;
        await c.query(`DROP TRIGGER IF EXISTS ${REVERSE_TRIGGER} ON ${HEAP}`);
        await c.query(`ALTER TABLE ${HEAP} RENAME TO ${SHADOW}`);
        await c.query(`ALTER TABLE ${OLD} RENAME TO ${HEAP}`);
        return lockHeldMs(c, t0);
      });
      await deps.profiles.withClient(input.profile, (c) => c.query(`DROP FUNCTION IF EXISTS ${REVERSE_FN}()`));
      return { alreadySwapped: false, tries, lockHoldMs: result, transactionMs };
    },

    /**
     * The runbook's step 6, without polluting the data: inside a transaction that is rolled
     * back, a canary row goes through memory_records; it must land in a partition of the
     * partitioned memory_records and be mirrored into memory_records_old. Also counts the
     * writes of the last 5 minutes (the runbook's own check), for the record.
     */
    async postSwapCheck(input: { profile: string }): Promise<{ ok: boolean; problems: string[]; landedIn: string | null; mirrored: boolean; recentWrites: number }> {
      return deps.profiles.withClient(input.profile, async (c) => {
        const problems: string[] = [];
        await c.query('BEGIN');
        try {
          if ((await relkind(c, HEAP)) !== 'p') problems.push(`${HEAP} is not partitioned`);
          const ins = await c.query<{ id: string; part: string }>(
            `INSERT INTO ${HEAP} (id, owner_id, kind, content, created_at, updated_at)
             VALUES (gen_random_uuid(), 'lichen-cutover:post-swap-canary', 'canary', 'post-swap check', now(), now())
             RETURNING id::text, tableoid::regclass::text AS part`);
          const { id, part } = ins.rows[0];
          const parent = await c.query<{ parent: string }>(`SELECT inhparent::regclass::text AS parent FROM pg_inherits WHERE inhrelid = $1::regclass`, [part]);
          if (parent.rows[0]?.parent !== HEAP) problems.push(`a write landed in ${part}, not in a partition of ${HEAP}`);
          const mirrored = ((await c.query(`SELECT 1 FROM ${OLD} WHERE id = $1`, [id])).rowCount ?? 0) > 0;
          if (!mirrored) problems.push(`a write to ${HEAP} did not reach ${OLD}: the reverse sync is missing`);
          const recent = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${HEAP} WHERE created_at > now() - interval '5 minutes'`);
          return { ok: problems.length === 0, problems, landedIn: part, mirrored, recentWrites: Number(recent.rows[0].n) - 1 };
        } finally {
          await c.query('ROLLBACK');
        }
      });
    },

    /**
     * A retention-window health check: parity memory_records ↔ memory_records_old per month in
     * one snapshot (the reverse sync must keep them equal: that is what makes a rollback safe).
     */
    async retentionParity(input: { profile: string }): Promise<{ ok: boolean; mismatched: MonthParity[]; months: number }> {
      const all = await compareMonths(deps.profiles.pool(input.profile), HEAP, OLD);
      const mismatched = all.filter((m) => !m.match);
      return { ok: mismatched.length === 0, mismatched, months: all.length };
    },

    /** After the approved end of retention: the reverse sync and memory_records_old go. Idempotent. */
    async dropOldTable(input: { profile: string; lock: LockRetryOptions }): Promise<{ dropped: boolean }> {
      const pool = deps.profiles.pool(input.profile);
      const { result } = await inLockBoundedTransaction(pool, 'drop the old table', { ...input.lock, maxTries: Math.max(input.lock.maxTries, 50) }, async (c) => {
        const s = await state(c);
        if (s.heap !== 'p') throw ApplicationFailure.nonRetryable(`refusing to drop ${OLD}: ${HEAP} is not the partitioned table`, 'PreflightFailed');
        await c.query(`DROP TRIGGER IF EXISTS ${REVERSE_TRIGGER} ON ${HEAP}`);
        await c.query(`DROP FUNCTION IF EXISTS ${REVERSE_FN}()`);
        if (s.old === null) return false;
        await c.query(`DROP TABLE ${OLD}`);
        return true;
      });
      return { dropped: result };
    },
  };
}
