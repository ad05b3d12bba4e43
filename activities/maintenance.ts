import { pruneTombstones } from '../src/memory-layer/storage/tombstones';
import { TOMBSTONES_TABLE } from '../src/memory-layer/storage/pg-store';
import { ApplicationFailure } from '@temporalio/common';
import { escapeIdentifier } from 'pg';
import type { ActivityDeps } from './index';
import { createTableMaintenanceActivities } from './maintenance-table';
import { detachOne } from './lib/detach';
import { takeParentOwnerAndGrants } from './lib/partition-owner';
import { inLockBoundedTransaction, LockRetriesExhausted } from './conversion/locks';
import { countRows, listPartitions, relkind } from '../src/shared/pg-catalog';

/** Partition names create_monthly_partition gives: memory_records_YYYY_MM. */
const PARTITION_NAME = /^memory_records_\d{4}_\d{2}$/;

export interface PartitionInfo {
  name: string;
  /** Bounds as the server prints them; null for the default partition. */
  from: string | null;
  to: string | null;
  isDefault: boolean;
  /** An interrupted DETACH … CONCURRENTLY left it half-detached. */
  detachPending: boolean;
}

export interface InspectResult {
  relkind: string | null;
  partitions: PartitionInfo[];
  defaultPartition: { name: string; rows: number } | null;
}

export function createMaintenanceActivities(deps: Pick<ActivityDeps, 'profiles'>) {
  return {
    // Any range-partitioned table (input `table`): maintenance-table.ts.
    ...createTableMaintenanceActivities(deps),
    /** The parent's kind, its partitions and bounds, and the default partition's row count. Read-only. */
    async inspectPartitions(input: { profile: string; target: string }): Promise<InspectResult> {
      return deps.profiles.withClient(input.profile, async (c) => {
        const kind = await relkind(c, input.target);
        if (kind !== 'p') return { relkind: kind, partitions: [], defaultPartition: null };
        const partitions = (await listPartitions(c, input.target)).map((x) => ({ name: x.name, from: x.from, to: x.to, isDefault: x.isDefault, detachPending: x.detachPending }));
        const def = partitions.find((p) => p.isDefault);
        let defaultPartition: InspectResult['defaultPartition'] = null;
        if (def) {
          defaultPartition = { name: def.name, rows: await countRows(c, def.name) };
        }
        return { relkind: kind, partitions, defaultPartition };
      });
    },

    /**
     * Creates the partitions of `months` ('YYYY-MM-01') that are missing, each in its own
     * short transaction under lock_timeout (creating a partition locks the parent; a stuck
     * request must not queue writers behind it). Idempotent. Returns the names it created.
     */
    async premakePartitions(input: { profile: string; target: string; months: string[]; lockTimeoutMs: number }): Promise<{ created: string[]; existing: string[] }> {
      const pool = deps.profiles.pool(input.profile);
      const created: string[] = [];
      const existing: string[] = [];
      for (const month of input.months) {
        try {
          const { result } = await inLockBoundedTransaction(pool, `create the partition for ${month.slice(0, 7)}`,
            { lockTimeoutMs: input.lockTimeoutMs, maxTries: 5, backoffMs: 200, maxBackoffMs: 2000 }, async (c) => {
              const name = `memory_records_${month.slice(0, 4)}_${month.slice(5, 7)}`;
              const before = await c.query(`SELECT 1 FROM pg_class WHERE oid = to_regclass($1)`, [name]);
              const made = await c.query<{ name: string }>(`SELECT create_monthly_partition($1::date, $2) AS name`, [month, input.target]);
              // The helper creates it as its own owner: the partition takes the table's owner and grants.
              if (!before.rowCount) await takeParentOwnerAndGrants(c, `public.${escapeIdentifier(input.target)}`, `public.${escapeIdentifier(made.rows[0].name)}`);
              return { name, isNew: !before.rowCount };
            });
          (result.isNew ? created : existing).push(result.name);
        } catch (err) {
          // Retryable: Temporal backs off and tries again (the lock holder may finish).
          if (err instanceof LockRetriesExhausted) throw ApplicationFailure.retryable(err.message, 'LockRetriesExhausted');
          throw err;
        }
      }
      return { created, existing };
    },

    /**
     * Detaches one partition. `DETACH … CONCURRENTLY` first (it does not block writers; it must
     * run outside a transaction block); impossible when the parent has a default partition, so
     * then a plain DETACH in a short lock_timeout transaction. A partition left half-detached by
     * an interrupted concurrent detach is finalized. Idempotent.
     */
    async detachPartition(input: { profile: string; target: string; partition: string; lockTimeoutMs: number }): Promise<{ partition: string; mode: 'concurrently' | 'plain' | 'finalized' | 'already-detached' }> {
      if (!PARTITION_NAME.test(input.partition)) throw ApplicationFailure.nonRetryable(`not a monthly partition name: ${input.partition}`, 'PreflightFailed');
      const mode = await deps.profiles.withClient(input.profile, (c) => detachOne(c, escapeIdentifier(input.target), escapeIdentifier(input.partition), input.lockTimeoutMs));
      return { partition: input.partition, mode };
    },

    /**
     * Prunes the target's tombstones when the rule of src/memory-layer/storage/tombstones.ts
     * allows it (persistence postgres without a mirror, no active run; older than the grace
     * period): run by every maintenance run, so deletes after the final cutover do not make the
     * table grow for ever. Keeps everything otherwise, and says why.
     */
    async pruneTombstones(input: { profile: string; target: string }): Promise<{ pruned: number; reason: string }> {
      return deps.profiles.withClient(input.profile, async (c) => {
        const t = await c.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AND to_regclass('cutover_control') IS NOT NULL AS ok`, [TOMBSTONES_TABLE]);
        if (!t.rows[0].ok) return { pruned: 0, reason: 'no tombstones table (not a production-cutover target)' };
        return pruneTombstones(c, input.target);
      });
    },

    /**
     * Drops tables that are detached monthly partitions (named memory_records_YYYY_MM, no longer
     * attached anywhere) of months before `cutoff` ('YYYY-MM-01'). Only called when the input
     * enables it: detaching keeps the data, dropping deletes it.
     */
    async dropDetachedPartitions(input: { profile: string; cutoff: string; lockTimeoutMs: number }): Promise<{ dropped: string[] }> {
      return deps.profiles.withClient(input.profile, async (c) => {
        const r = await c.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
            WHERE c.relkind = 'r' AND NOT c.relispartition AND c.relname ~ '^memory_records_[0-9]{4}_[0-9]{2}$'
              AND to_date(substr(c.relname, 16), 'YYYY_MM') < $1::date
            ORDER BY c.relname`, [input.cutoff]);
        const dropped: string[] = [];
        for (const { name } of r.rows) {
          await c.query('BEGIN');
          try {
            await c.query(`SELECT set_config('lock_timeout', $1, true)`, [`${input.lockTimeoutMs}ms`]);
            await c.query(`DROP TABLE IF EXISTS ${escapeIdentifier(name)}`);
            await c.query('COMMIT');
            dropped.push(name);
          } catch (err) {
            await c.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        }
        return { dropped };
      });
    },
  };
}
export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;
