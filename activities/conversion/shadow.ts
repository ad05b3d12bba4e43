import { dropUnlessOnlyThere, type KeptTable } from './keep-or-drop';
import { ApplicationFailure } from '@temporalio/common';
import { applyPlan } from '../../src/migrations/runner';
import type { ActivityDeps } from '../index';
import { inLockBoundedTransaction, type LockRetryOptions } from './locks';
import { relkind } from '../../src/shared/pg-catalog';
import { CREATE_FORWARD_TRIGGER_SQL, FORWARD_FN, FORWARD_FN_SQL, FORWARD_TRIGGER, HEAP, SHADOW } from './sql';

export function createShadowActivities(deps: Pick<ActivityDeps, 'profiles'>) {
  return {
    /**
     * Step 2 of the runbook: 002a (the shadow table, the helper, current + 2 months), then a
     * partition for every month in `months` (the data) and `premakeMonths` ahead of today.
     * Idempotent (the migration and create_monthly_partition are).
     */
    async createShadow(input: { profile: string; months: string[]; premakeMonths: number }): Promise<{ partitions: string[] }> {
      return deps.profiles.withClient(input.profile, async (c) => {
        // reapply: a rolled-back run dropped the shadow, but the ledger still lists 002a as applied.
        await applyPlan(c, 'conversion', { reapply: true, appliedBy: 'heapToPartitionedConversion' });
        const r = await c.query<{ name: string }>(
          `SELECT create_monthly_partition(m::date, $2) AS name
             FROM (SELECT unnest($1::date[]) AS m
                   UNION SELECT (date_trunc('month', now()) + make_interval(months => g))::date FROM generate_series(0, $3::int) g) x
            ORDER BY m`,
          [input.months, SHADOW, input.premakeMonths],
        );
        return { partitions: r.rows.map((x) => x.name) };
      });
    },

    /**
     * The sync: an AFTER INSERT/UPDATE/DELETE row trigger on the heap mirroring into the shadow.
     * CREATE TRIGGER waits for in-flight writers (SHARE ROW EXCLUSIVE), so it runs under a short
     * lock_timeout with retries: every write after it is mirrored, every write before it is
     * committed and will be seen by the copy.
     */
    async installForwardSync(input: { profile: string; lock: LockRetryOptions }): Promise<{ tries: number; alreadyInstalled: boolean }> {
      const pool = deps.profiles.pool(input.profile);
      const { result, tries } = await inLockBoundedTransaction(pool, 'install the sync trigger', input.lock, async (c) => {
        if ((await relkind(c, SHADOW)) !== 'p') throw ApplicationFailure.nonRetryable(`${SHADOW} is missing: create the shadow first`, 'PreflightFailed');
        await c.query(FORWARD_FN_SQL);
        const exists = await c.query(`SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = to_regclass($2)`, [FORWARD_TRIGGER, HEAP]);
        if (exists.rowCount) return true;
        await c.query(CREATE_FORWARD_TRIGGER_SQL);
        return false;
      });
      return { tries, alreadyInstalled: result };
    },

    /**
     * Rollback before the swap: the trigger and the shadow go in ONE transaction (a trigger
     * left pointing at a dropped table would fail every application write). Refuses unless
     * memory_records is still the heap, so it can never drop the only copy of the data; the
     * shadow is dropped only when it holds no row image memory_records lacks, else it is kept as
     * memory_records_rolled_back and named in the result (keep-or-drop.ts).
     */
    async removeShadow(input: { profile: string; lock: LockRetryOptions }): Promise<{ droppedShadow: boolean; droppedTrigger: boolean; kept?: KeptTable }> {
      const pool = deps.profiles.pool(input.profile);
      const { result } = await inLockBoundedTransaction(pool, 'remove the sync trigger and the shadow', { ...input.lock, maxTries: Math.max(input.lock.maxTries, 50) }, async (c) => {
        const heapKind = await relkind(c, HEAP);
        if (heapKind !== 'r') {
          throw ApplicationFailure.nonRetryable(`refusing to drop ${SHADOW}: ${HEAP} is not the heap table (relkind ${heapKind}); swap back first`, 'PreflightFailed');
        }
        const shadow = await relkind(c, SHADOW);
        // Both locks first (as the swap takes them: heap, then shadow), then the trigger: no lock upgrade.
        if (shadow !== null) await c.query(`LOCK TABLE ${HEAP}, ${SHADOW} IN ACCESS EXCLUSIVE MODE`);
        const trig = await c.query(`SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = to_regclass($2)`, [FORWARD_TRIGGER, HEAP]);
        if (trig.rowCount) await c.query(`DROP TRIGGER ${FORWARD_TRIGGER} ON ${HEAP}`);
        await c.query(`DROP FUNCTION IF EXISTS ${FORWARD_FN}()`);
        if (shadow === null) return { droppedShadow: false, droppedTrigger: !!trig.rowCount };
        // Dropped only when it holds no row memory_records lacks (after a swap back it is the
        // partitioned table, which may): checked here, under both locks, every row visible.
        await c.query(`SELECT set_config('row_security', 'off', true)`);
        const schema = (await c.query<{ s: string }>(`SELECT n.nspname AS s FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = to_regclass($1)`, [HEAP])).rows[0].s;
        // By record: with the app's mirror, memory_records went on taking writes alone after the mirror was removed.
        const r = await dropUnlessOnlyThere(c, { candidate: SHADOW, reference: HEAP, schema, base: HEAP, compare: { by: 'record', key: 'id', version: 'updated_at', tombstones: 'memory_record_tombstones' } });
        return { droppedShadow: r.dropped, droppedTrigger: !!trig.rowCount, ...(r.kept ? { kept: r.kept } : {}) };
      });
      return result;
    },
  };
}
