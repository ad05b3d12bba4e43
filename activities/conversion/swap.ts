import { dropUnlessOnlyThere, type KeptTable } from './keep-or-drop';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import type { ActivityDeps } from '../index';
import { inLockBoundedTransaction, LockRetriesExhausted, type LockRetryOptions } from './locks';
import { compareMonths, type ShadowMonthParity } from './parity';
import { CREATE_REVERSE_TRIGGER_SQL, FORWARD_FN, FORWARD_TRIGGER, HEAP, OLD, REVERSE_FN, REVERSE_FN_SQL, REVERSE_TRIGGER, SHADOW, type SyncKind } from './sql';
import { finishMirrorMove, moveMirrorInTransaction, removeMirrorAndWait } from './app-sync';
import { getControl } from '../../src/memory-layer/control-plane';
import { liveInstances, relkind } from '../../src/shared/pg-catalog';

/** What the swap activities need to move the app's mirror (sync "app-dual-write"). */
export interface SwapInput {
  profile: string;
  lock: LockRetryOptions;
  /** Default "trigger". */
  sync?: SyncKind;
  /** The control-plane target (memory_records). */
  target?: string;
  /** The barrier after moving the mirror. */
  barrierTimeoutSeconds?: number;
}

const appSync = (input: SwapInput) => ({ profile: input.profile, target: input.target ?? HEAP, barrierTimeoutSeconds: input.barrierTimeoutSeconds ?? 60 });

export interface SwapResult {
  /** The swap had already happened (a retry after a lost result). */
  alreadySwapped: boolean;
  tries: number;
  /** Time the ACCESS EXCLUSIVE locks were held, measured by clock_timestamp() in the transaction. */
  lockHoldMs: number | null;
  /** Wall time of the successful transaction, BEGIN to COMMIT acknowledged. */
  transactionMs: number | null;
  /** Swap back only: the partitioned table, kept aside because it held rows the heap lacked. */
  kept?: KeptTable;
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

/** After a swap back (sync "app-dual-write"): the barrier for the mirror on the shadow, then the bridge goes. */
async function finishSwapBack(pool: Pool, input: SwapInput): Promise<void> {
  const row = await getControl(pool, appSync(input).target);
  if (row?.mode.mirrorTable === SHADOW) {
    await finishMirrorMove(pool, { ...appSync(input), bridge: OLD, to: SHADOW });
  } else if ((await relkind(pool, OLD)) === 'v') {
    await pool.query(`DROP VIEW ${OLD}`);
  }
}

export function createSwapActivities(deps: Pick<ActivityDeps, 'profiles'>) {
  return {
    /**
     * The atomic swap, ONE transaction under a short lock_timeout: lock both tables (same order
     * as writers: heap, then shadow), rename heap → memory_records_old and shadow →
     * memory_records, and turn the sync around so the old table keeps receiving every write
     * during retention: sync "trigger" drops the forward trigger and installs the reverse one
     * on the new memory_records; sync "app-dual-write" leaves a bridge view under the shadow's
     * name and points the app's mirror at memory_records_old (app-sync.ts), then waits for
     * every live instance and drops the bridge.
     * lock_not_available (55P03) → retried with backoff and jitter; after `maxTries` a non-retryable SwapLockTimeout
     * (the workflow waits for an operator). Idempotent: an already-swapped state is reported.
     */
    async swapTables(input: SwapInput): Promise<SwapResult> {
      const pool = deps.profiles.pool(input.profile);
      const app = input.sync === 'app-dual-write';
      const before = await deps.profiles.withClient(input.profile, state);
      if (before.heap === 'p' && before.old === 'r' && (before.shadow === null || (app && before.shadow === 'v'))) {
        if (app) await finishMirrorMove(pool, { ...appSync(input), bridge: SHADOW, to: OLD });
        return { alreadySwapped: true, tries: 0, lockHoldMs: null, transactionMs: null };
      }
      if (before.heap !== 'r' || before.shadow !== 'p' || before.old !== null) {
        throw ApplicationFailure.nonRetryable(`cannot swap: expected heap ${HEAP}, partitioned ${SHADOW} and no ${OLD}; found ${JSON.stringify(before)}`, 'PreflightFailed');
      }
      if (app) {
        const row = await getControl(pool, appSync(input).target);
        if (row?.mode.mirrorTable !== SHADOW) {
          throw ApplicationFailure.nonRetryable(`cannot swap with sync "app-dual-write": the app does not mirror into ${SHADOW} (control row: ${row ? JSON.stringify(row.mode) : 'none'})`, 'PreflightFailed');
        }
      }
      try {
        const { result, tries, transactionMs } = await inLockBoundedTransaction(pool, 'swap', input.lock, async (c) => {
          await c.query(`LOCK TABLE ${HEAP}, ${SHADOW} IN ACCESS EXCLUSIVE MODE`);
          const t0 = (await c.query<{ t: string }>(`SELECT clock_timestamp()::text AS t`)).rows[0].t;
          await c.query(`ALTER TABLE ${HEAP} RENAME TO ${OLD}`);
          await c.query(`ALTER TABLE ${SHADOW} RENAME TO ${HEAP}`);
          if (app) {
            await moveMirrorInTransaction(c, { target: appSync(input).target, bridge: SHADOW, to: OLD, reason: `conversion: swapped; the app mirrors every write into ${OLD} during retention` });
          } else {
            await c.query(`DROP TRIGGER IF EXISTS ${FORWARD_TRIGGER} ON ${OLD}`);
            await c.query(REVERSE_FN_SQL);
            await c.query(CREATE_REVERSE_TRIGGER_SQL);
          }
          return lockHeldMs(c, t0);
        });
        if (app) await finishMirrorMove(pool, { ...appSync(input), bridge: SHADOW, to: OLD });
        else await deps.profiles.withClient(input.profile, (c) => c.query(`DROP FUNCTION IF EXISTS ${FORWARD_FN}()`));
        return { alreadySwapped: false, tries, lockHoldMs: result, transactionMs };
      } catch (err) {
        if (err instanceof LockRetriesExhausted) throw swapLockTimeout(err);
        throw err;
      }
    },

    /**
     * Rollback after the swap: the mirror image, in one transaction: memory_records →
     * memory_records_partitioned, memory_records_old → memory_records, the reverse sync dropped
     * (sync "trigger") or the app's mirror pointed back at memory_records_partitioned through a
     * bridge view (sync "app-dual-write"; the bridge goes after the barrier). Nothing is lost:
     * the sync kept the old table equal to the partitioned one.
     * Lock exhaustion here is retryable (Temporal retries with backoff): a rollback must finish.
     */
    async swapBack(input: SwapInput): Promise<SwapResult> {
      const pool = deps.profiles.pool(input.profile);
      const app = input.sync === 'app-dual-write';
      const before = await deps.profiles.withClient(input.profile, state);
      if (before.heap === 'r' && (before.old === null || (app && before.old === 'v'))) {
        if (app) await finishSwapBack(pool, input);
        return { alreadySwapped: true, tries: 0, lockHoldMs: null, transactionMs: null };
      }
      if (before.heap !== 'p' || before.old !== 'r' || (before.shadow !== null && !(app && before.shadow === 'v'))) {
        throw ApplicationFailure.nonRetryable(`cannot swap back: expected partitioned ${HEAP}, heap ${OLD} and no ${SHADOW}; found ${JSON.stringify(before)}`, 'PreflightFailed');
      }
      let kept: KeptTable | undefined;
      const { result, tries, transactionMs } = await inLockBoundedTransaction(pool, 'swap back', input.lock, async (c) => {
        kept = undefined;
        await c.query(`LOCK TABLE ${HEAP}, ${OLD} IN ACCESS EXCLUSIVE MODE`);
        const t0 = (await c.query<{ t: string }>(`SELECT clock_timestamp()::text AS t`)).rows[0].t;
        await c.query(`DROP TRIGGER IF EXISTS ${REVERSE_TRIGGER} ON ${HEAP}`);
        if (app) await c.query(`DROP VIEW IF EXISTS ${SHADOW}`);
        await c.query(`ALTER TABLE ${HEAP} RENAME TO ${SHADOW}`);
        await c.query(`ALTER TABLE ${OLD} RENAME TO ${HEAP}`);
        if (!app) {
          // Still under both locks: the partitioned table goes only when it holds no row the heap
          // lacks, else it is kept aside (keep-or-drop.ts). With the app's mirror it still receives
          // the mirror's writes: removeShadow decides after the mirror is removed.
          await c.query(`SELECT set_config('row_security', 'off', true)`);
          const schema = (await c.query<{ s: string }>(`SELECT n.nspname AS s FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = to_regclass($1)`, [HEAP])).rows[0].s;
          kept = (await dropUnlessOnlyThere(c, { candidate: SHADOW, reference: HEAP, schema, base: HEAP })).kept;
        }
        if (app) {
          const row = await getControl(c, appSync(input).target);
          // The mirror is on the old table unless the run never moved it (then it is the shadow).
          if (row?.mode.mirrorTable === OLD) {
            await moveMirrorInTransaction(c, { target: appSync(input).target, bridge: OLD, to: SHADOW, reason: 'conversion rolled back: swapped back; the app mirrors into the shadow until it is removed' });
          }
        }
        return lockHeldMs(c, t0);
      });
      if (app) await finishSwapBack(pool, input);
      else await deps.profiles.withClient(input.profile, (c) => c.query(`DROP FUNCTION IF EXISTS ${REVERSE_FN}()`));
      return { alreadySwapped: false, tries, lockHoldMs: result, transactionMs, ...(kept ? { kept } : {}) };
    },

    /**
     * The runbook's step 6, without polluting the data: inside a transaction that is rolled
     * back, a canary row goes through memory_records; it must land in a partition of the
     * partitioned memory_records and be mirrored into memory_records_old. Also counts the
     * writes of the last 5 minutes (the runbook's own check), for the record.
     */
    async postSwapCheck(input: { profile: string; sync?: SyncKind; target?: string }): Promise<{ ok: boolean; problems: string[]; landedIn: string | null; mirrored: boolean; recentWrites: number }> {
      const app = input.sync === 'app-dual-write';
      return deps.profiles.withClient(input.profile, async (c) => {
        const problems: string[] = [];
        if (app) {
          // The canary below does not go through the app: check that every live instance
          // applied the mirror onto the old table instead.
          const target = input.target ?? HEAP;
          const row = await getControl(c, target);
          if (row?.mode.mirrorTable !== OLD) problems.push(`the app does not mirror into ${OLD} (control row: ${row ? JSON.stringify(row.mode) : 'none'}): the reverse sync is missing`);
          const lagging = (await liveInstances(c, target)).filter((i) => i.appliedEpoch < (row?.epoch ?? 0));
          if (lagging.length) problems.push(`live instance(s) ${lagging.map((i) => i.instanceId).join(', ')} have not applied the mirror onto ${OLD}`);
        }
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
          const mirrored = app ? problems.length === 0 : ((await c.query(`SELECT 1 FROM ${OLD} WHERE id = $1`, [id])).rowCount ?? 0) > 0;
          if (!mirrored && !app) problems.push(`a write to ${HEAP} did not reach ${OLD}: the reverse sync is missing`);
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
    async retentionParity(input: { profile: string }): Promise<{ ok: boolean; mismatched: ShadowMonthParity[]; months: number }> {
      const all = await compareMonths(deps.profiles.pool(input.profile), HEAP, OLD);
      const mismatched = all.filter((m) => !m.match);
      return { ok: mismatched.length === 0, mismatched, months: all.length };
    },

    /** After the approved end of retention: the reverse sync (trigger or app mirror) and memory_records_old go. Idempotent. */
    async dropOldTable(input: SwapInput): Promise<{ dropped: boolean }> {
      const pool = deps.profiles.pool(input.profile);
      // The app stops mirroring into the old table first (barrier): no write fails on a dropped table.
      if (input.sync === 'app-dual-write') {
        if ((await relkind(pool, HEAP)) !== 'p') {
          throw ApplicationFailure.nonRetryable(`refusing to drop ${OLD}: ${HEAP} is not the partitioned table`, 'PreflightFailed');
        }
        await removeMirrorAndWait(pool, appSync(input), 'conversion: retention over, memory_records_old is dropped');
      }
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
