import { ApplicationFailure } from '@temporalio/common';
import type { PoolClient } from 'pg';
import type { ActivityDeps } from './index';
import { inLockBoundedTransaction, LockRetriesExhausted } from './conversion/locks';
import { lit, qi, spellTable, type TableName } from '../src/conversion/choice/names';
import { takeParentOwnerAndGrants } from './lib/partition-owner';
import { detachOne, type DetachMode } from './lib/detach';
import { boundLiteral, floorTo, INTERVALS, nextStart, partitionName, PARTITION_TYPES, type PartitionInterval, type PartitionType } from '../src/conversion/choice/intervals';

/**
 * Partition maintenance of any range-partitioned table (input `table`; workflows/maintenance.ts):
 * the interval is read from the table's own partitions, partitions are named by the scheme of
 * src/conversion/choice/intervals.ts, bounds computed in UTC whatever the session's
 * TimeZone. Each DDL statement runs in its own short transaction under lock_timeout.
 */

export interface TablePartition {
  name: string;
  /** ms since the epoch (UTC midnight); null for the default partition. */
  from: number | null;
  to: number | null;
  isDefault: boolean;
  detachPending: boolean;
}

export interface TableInspection {
  schema: string;
  name: string;
  column: string;
  type: PartitionType;
  interval: PartitionInterval;
  partitions: TablePartition[];
  defaultPartition: { name: string; rows: number } | null;
}

const refused = (msg: string) => ApplicationFailure.nonRetryable(msg, 'PreflightFailed');

/** 'YYYY-MM-DD[ HH:MM:SS[+00]]' as printed with TimeZone UTC → ms; null when it is not a UTC midnight. */
/** The `from` of a history partition (FROM MINVALUE, mode attach): the earliest time JavaScript holds. */
export const HISTORY_FROM = -8.64e15;

function boundMs(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?: 00:00:00(?:\+00)?)?$/.exec(s);
  if (!m) return null;
  return new Date(0).setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

/** The one interval every (from, to) fits, or why none does. */
export function inferInterval(parts: { name: string; from: number; to: number }[]): PartitionInterval | string {
  if (parts.length === 0) return 'it has no range partition to read the interval from: create one first (or convert it with heapToPartitionedConversion)';
  const fits = INTERVALS.filter((i) => parts.every((p) => floorTo(i, p.from) === p.from && nextStart(i, p.from) === p.to));
  if (fits.length) return fits[0];
  const odd = parts.find((p) => !INTERVALS.some((i) => floorTo(i, p.from) === p.from && nextStart(i, p.from) === p.to));
  return odd
    ? `partition ${odd.name} (${new Date(odd.from).toISOString()} to ${new Date(odd.to).toISOString()}) is not one ${INTERVALS.join(', ')} starting at UTC midnight`
    : `its partitions mix intervals (${INTERVALS.filter((i) => parts.some((p) => floorTo(i, p.from) === p.from && nextStart(i, p.from) === p.to)).join(' and ')}): one interval per table`;
}

async function inUtc<T>(c: PoolClient, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN READ ONLY');
  try {
    await c.query(`SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'`);
    const r = await fn();
    await c.query('COMMIT');
    return r;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export function createTableMaintenanceActivities(deps: Pick<ActivityDeps, 'profiles'>) {
  return {
    /** The table in the catalog: range-partitioned on one date/timestamp column, its partitions, the interval they use. Read-only. */
    async inspectTable(input: { profile: string; table: TableName }): Promise<TableInspection> {
      return deps.profiles.withClient(input.profile, (c) => inUtc(c, async () => {
        const t = await c.query<{ oid: number; schema: string; name: string; relkind: string; strat: string | null; natts: number | null; col: string | null; type: string | null }>(
          `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, p.partstrat::text AS strat, p.partnatts::int AS natts,
                  a.attname AS col, format_type(CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE a.atttypid END, NULL) AS type
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid
             LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
             LEFT JOIN pg_type ty ON ty.oid = a.atttypid -- a domain partition column (a conversion accepts one): its base type
            WHERE c.oid = to_regclass($1)`,
          [input.table.schema ? `${qi(input.table.schema)}.${qi(input.table.name)}` : qi(input.table.name)],
        );
        const label = spellTable(input.table);
        const row = t.rows[0];
        if (!row) throw refused(`table: ${label} does not exist (as the connection profile's user sees it)`);
        if (row.relkind !== 'p') throw refused(`table: ${label} is not partitioned (relkind ${row.relkind}): convert it first with heapToPartitionedConversion {"table": "${label}", ...}`);
        if (row.strat !== 'r' || row.natts !== 1 || !row.col) throw refused(`table: ${label} is not partitioned by RANGE on one column; maintenance premakes and detaches time ranges only`);
        if (!(PARTITION_TYPES as readonly string[]).includes(row.type!)) throw refused(`table: ${label} is partitioned on ${row.col} (${row.type}); maintenance needs ${PARTITION_TYPES.join(', ')}`);
        const p = await c.query<{ name: string; bounds: string; pending: boolean; lo: string | null; hi: string | null }>(
          `SELECT child.relname AS name, pg_get_expr(child.relpartbound, child.oid) AS bounds, i.inhdetachpending AS pending,
                  (regexp_match(pg_get_expr(child.relpartbound, child.oid), 'FROM \\(''([^'']+)''\\)'))[1] AS lo,
                  (regexp_match(pg_get_expr(child.relpartbound, child.oid), 'TO \\(''([^'']+)''\\)'))[1] AS hi
             FROM pg_inherits i JOIN pg_class child ON child.oid = i.inhrelid
            WHERE i.inhparent = $1 ORDER BY 2`, [row.oid]);
        const partitions: TablePartition[] = p.rows.map((x) => ({
          name: x.name, isDefault: x.bounds === 'DEFAULT', detachPending: x.pending,
          // A conversion in mode attach leaves the old heap as the history partition [MINVALUE, bound): its lower end is the earliest time.
          from: x.lo === null ? (x.bounds.startsWith('FOR VALUES FROM (MINVALUE) TO (') ? HISTORY_FROM : null) : boundMs(x.lo), to: x.hi === null ? null : boundMs(x.hi),
        }));
        const ranged = partitions.filter((x) => !x.isDefault);
        const bad = ranged.find((x) => x.from === null || x.to === null);
        if (bad) throw refused(`table: partition ${bad.name} of ${label} has bounds ${p.rows.find((r) => r.name === bad.name)!.bounds}: maintenance needs bounds at UTC midnights`);
        const interval = inferInterval(ranged.filter((x) => x.from !== HISTORY_FROM).map((x) => ({ name: x.name, from: x.from!, to: x.to! })));
        if (!(INTERVALS as readonly string[]).includes(interval)) throw refused(`table: cannot read the interval of ${label}: ${interval}`);
        const def = partitions.find((x) => x.isDefault);
        let defaultPartition: TableInspection['defaultPartition'] = null;
        if (def) {
          const n = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qi(row.schema)}.${qi(def.name)}`);
          defaultPartition = { name: def.name, rows: Number(n.rows[0].n) };
        }
        return { schema: row.schema, name: row.name, column: row.col, type: row.type as PartitionType, interval: interval as PartitionInterval, partitions, defaultPartition };
      }));
    },

    /**
     * Creates the partitions starting at `starts` (ms, interval starts) that are missing, by the
     * naming scheme, each in its own transaction under lock_timeout. A start already covered by
     * a partition (whatever its name) is existing. Idempotent.
     */
    async premakeTablePartitions(input: { profile: string; schema: string; name: string; type: PartitionType; interval: PartitionInterval; starts: number[]; lockTimeoutMs: number; parentName?: string }): Promise<{ created: string[]; existing: string[] }> {
      const pool = deps.profiles.pool(input.profile);
      // `name` names the partitions; `parentName` (the conversion's shadow) is the table they go under, when not the same.
      const parent = `${qi(input.schema)}.${qi(input.parentName ?? input.name)}`;
      const created: string[] = [];
      const existing: string[] = [];
      for (const start of input.starts) {
        const part = partitionName(input.name, input.interval, start);
        const end = nextStart(input.interval, start);
        try {
          await inLockBoundedTransaction(pool, `create partition ${part}`, { lockTimeoutMs: input.lockTimeoutMs, maxTries: 5, backoffMs: 200, maxBackoffMs: 2000 }, async (c) => {
            await c.query(`SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'`);
            // Covered already? (a partition with these exact bounds, whatever its name, or a history partition [MINVALUE, x) with x at or after its end)
            const cover = await c.query<{ name: string }>(
              `SELECT child.relname AS name FROM pg_inherits i JOIN pg_class child ON child.oid = i.inhrelid, LATERAL (SELECT pg_get_expr(child.relpartbound, child.oid) AS b) e
                WHERE i.inhparent = to_regclass(${lit(parent)})
                  AND (e.b = $1 OR (starts_with(e.b, 'FOR VALUES FROM (MINVALUE) TO (''') AND (regexp_match(e.b, 'TO \\(''([^'']+)''\\)'))[1]::timestamptz >= $2::timestamptz))`,
              [`FOR VALUES FROM (${boundLiteral(input.type, start)}) TO (${boundLiteral(input.type, end)})`, new Date(end).toISOString()]);
            if (cover.rowCount) {
              existing.push(cover.rows[0].name);
              return;
            }
            await c.query(`CREATE TABLE ${qi(input.schema)}.${qi(part)} PARTITION OF ${parent} FOR VALUES FROM (${boundLiteral(input.type, start)}) TO (${boundLiteral(input.type, end)})`);
            await takeParentOwnerAndGrants(c, parent, `${qi(input.schema)}.${qi(part)}`);
            created.push(part);
          });
        } catch (err) {
          if (err instanceof LockRetriesExhausted) throw ApplicationFailure.retryable(err.message, 'LockTimeout');
          const e = err as { code?: string; message: string };
          if (e.code === '42P17' || e.code === '42P07') throw refused(`cannot create ${part} of ${input.schema}.${input.name} (${new Date(start).toISOString().slice(0, 10)} to ${new Date(end).toISOString().slice(0, 10)}): ${e.message}`);
          if (e.code === '23514') throw refused(`cannot create ${part}: the default partition holds rows of its range (${e.message}); move them out first`);
          throw err;
        }
      }
      return { created, existing };
    },

    /** Detaches one partition of the table (CONCURRENTLY unless a default partition exists; an interrupted one is finalized). Idempotent. */
    async detachTablePartition(input: { profile: string; schema: string; name: string; partition: string; lockTimeoutMs: number }): Promise<{ partition: string; mode: DetachMode }> {
      const mode = await deps.profiles.withClient(input.profile, (c) => detachOne(c, `${qi(input.schema)}.${qi(input.name)}`, `${qi(input.schema)}.${qi(input.partition)}`, input.lockTimeoutMs));
      return { partition: input.partition, mode };
    },

    /** Drops the named partitions this run detached (only when the input enables it); never one still attached. */
    async dropDetachedTablePartitions(input: { profile: string; schema: string; name: string; partitions: string[]; lockTimeoutMs: number }): Promise<{ dropped: string[] }> {
      const dropped: string[] = [];
      await deps.profiles.withClient(input.profile, async (c) => {
        for (const p of input.partitions) {
          const q = `${qi(input.schema)}.${qi(p)}`;
          await c.query('BEGIN');
          try {
            await c.query(`SELECT set_config('lock_timeout', $1, true)`, [`${input.lockTimeoutMs}ms`]);
            const attached = await c.query(`SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1)`, [q]);
            if (attached.rowCount) throw refused(`${q} is attached again; not dropped`);
            const r = await c.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [q]);
            if (r.rows[0].ok) {
              await c.query(`DROP TABLE ${q}`);
              dropped.push(p);
            }
            await c.query('COMMIT');
          } catch (err) {
            await c.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        }
      });
      return { dropped };
    },
  };
}
