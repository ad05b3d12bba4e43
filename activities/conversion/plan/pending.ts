import { lit, qi, withSuffix } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';
import type { Analysis } from './analyse';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import { partitionName, partitionSuffix, partitionSuffixSql, type PartitionType } from '../../../src/conversion/choice/intervals';
import type { ConversionNames } from './names';
import { rowSql, utcExpr } from './sync-ddl';

/**
 * Writes the shadow has no partition for, before the swap. The sync never creates a partition
 * (that would hold ACCESS EXCLUSIVE on the shadow inside the application's transaction until it
 * commits); a write whose partition-column value lies outside the range the shadow was built
 * with (`[first start, end of the last premade interval)`) is not mirrored: the sync records its
 * key in a small side table instead (`<table>_lichen_pending`, the run's own, in the table's
 * schema), and the application's write goes on at no extra cost. The run then, outside any
 * application transaction:
 * - right after the sync's installation, creates a partition for every interval of the heap's
 *   rows outside the range (rows written between the plan's data scan and the installation), so
 *   the copy never meets a row without a partition;
 * - before parity and before the swap, creates the partitions the pending keys need (each in a
 *   short lock_timeout transaction) and replays those keys from the heap (read FOR SHARE, as the
 *   copy does), until none is left;
 * - inside the swap's transaction (the application waits for the swap anyway), replays what came
 *   in since; a pending key without a partition there fails that attempt, the run creates it and
 *   retries.
 * With a DEFAULT partition every write has a place: nothing is pending.
 */
export interface PendingSql {
  /** The side table's name (raw) and quoted. */
  name: string;
  table: string;
  create: string;
  drop: string;
  /** SQL true when the copy's row (its partition column unqualified) has a partition in the shadow (a NULL goes on, refused as before); null with a DEFAULT partition. */
  copyPlaceable: string | null;
  /** plpgsql for the forward sync, before its upsert: records NEW's key and returns when NEW is outside the range. Empty with a DEFAULT partition. */
  guard: string;
  /** The interval starts (as UTC text 'YYYY-MM-DD') of heap rows outside the range; finite values only. */
  heapOutsideSql: string;
  /** Heap rows outside the range whose value no interval can hold (±infinity, year outside 1–9999). */
  heapUnplaceableSql: string;
  /**
   * The same two through a btree index led by the column (no full scan: a large table's scan outlived the
   * activity's timeout): the interval starts by a skip scan, one index probe per interval that has rows,
   * and the unplaceable rows as two index ranges (the finite values are [0001-01-01, 10000-01-01) of the
   * column's type, read in the session's zone as extract(year) reads them).
   */
  byIndex: { heapOutsideSql: string; heapUnplaceableSql: string };
  /** The interval starts of the pending keys' heap rows (finite values), and the count of unplaceable ones. */
  pendingStartsSql: string;
  /** One transaction's replay of every pending key (run in order, inside BEGIN … COMMIT). */
  replay: string[];
  /** Fails the swap's attempt (SQLSTATE LP001) when a pending key's row has no partition. */
  swapCheck: string;
}

export const PENDING_NO_PARTITION = 'LP001';



/**
 * SQL expressions placing a value of the partition column (`x`, an SQL expression) among the
 * table's interval partitions, by the naming scheme of src/conversion/choice/intervals.ts: whether it is finite
 * (an interval can hold it), its interval's start, and whether that partition exists.
 */
export function placementSql(d: Pick<TableDescriptor, 'schema' | 'name'>, choice: Pick<ConversionChoice, 'interval'>, type: PartitionType) {
  const finite = (x: string) => `(isfinite(${x}) AND extract(year FROM ${x}) BETWEEN 1 AND 9999)`;
  // The name of the partition holding `x` (a finite value), by the scheme of src/conversion/choice/intervals.ts; it exists, or the value has no place yet.
  const probe = partitionName(d.name, choice.interval, 0);
  const base = probe.slice(0, probe.length - partitionSuffix(choice.interval, 0).length);
  const nameOf = (truncated: string) => `pg_catalog.format('%I.%I', ${lit(d.schema)}, ${lit(base)} || ${partitionSuffixSql(choice.interval, truncated)})`;
  const exists = (truncated: string) => `pg_catalog.to_regclass(${nameOf(truncated)}) IS NOT NULL`;
  const trunc = (x: string) => `date_trunc('${choice.interval}', ${utcExpr(type, x)})`;
  const placeable = (x: string) => `(CASE WHEN ${finite(x)} THEN ${exists(trunc(x))} ELSE false END)`;
  const start = (x: string) => `to_char(date_trunc('${choice.interval}', ${utcExpr(type, x)}), 'YYYY-MM-DD')`;
  return { finite, exists, trunc, placeable, start };
}

/** An interval's length, as an SQL interval (date_trunc's 'quarter' has no interval unit of its own). */
const STEP: Record<ConversionChoice['interval'], string> = { day: '1 day', week: '7 days', month: '1 month', quarter: '3 months', year: '1 year' };

/** PendingSql.byIndex: `trunc` gives an interval's start as a UTC timestamp; back to the column's type to probe its index. */
function heapStartsByIndex(table: string, col: string, choice: Pick<ConversionChoice, 'interval'>, type: PartitionType, trunc: (x: string) => string, exists: (t: string) => string) {
  const lo = `'0001-01-01'::${type}`;
  const hi = `'10000-01-01'::${type}`;
  const back = (t: string) => (type === 'timestamp with time zone' ? `((${t}) AT TIME ZONE 'UTC')` : type === 'date' ? `(${t})::date` : `(${t})`);
  const first = (from: string) => `(SELECT min(h.${col}) FROM ${table} h WHERE h.${col} >= ${from} AND h.${col} < ${hi})`;
  return {
    heapOutsideSql: `WITH RECURSIVE s(t) AS (SELECT ${trunc(first(lo))} UNION ALL SELECT ${trunc(first(back(`s.t + interval '${STEP[choice.interval]}'`)))} FROM s WHERE s.t IS NOT NULL)
SELECT to_char(s.t, 'YYYY-MM-DD') AS start FROM s WHERE s.t IS NOT NULL AND NOT (${exists('s.t')}) ORDER BY 1`,
    heapUnplaceableSql: `SELECT count(*)::int AS n FROM ${table} h WHERE h.${col} < ${lo} OR h.${col} >= ${hi}`,
  };
}

export function pendingSql(d: TableDescriptor, a: Analysis, choice: ConversionChoice, names: ConversionNames, type: PartitionType): PendingSql {
  const name = withSuffix(d.name, '_lichen_pending');
  const table = `${qi(d.schema)}.${qi(name)}`;
  const key = a.key?.columns ?? [];
  const kq = key.map(qi);
  const col = qi(choice.column);
  const { finite, exists, trunc, placeable, start } = placementSql(d, choice, type);
  const keyTypes = key.map((k) => d.columns.find((c) => c.name === k)!.type);
  const create = `CREATE TABLE IF NOT EXISTS ${table} (${key.map((k, i) => `${qi(k)} ${keyTypes[i]}`).join(', ')}, PRIMARY KEY (${kq.join(', ')}))`;
  const guard = choice.options.defaultPartition ? '' : `IF NEW.${col} IS NOT NULL AND NOT ${placeable(`NEW.${col}`)} THEN
    INSERT INTO ${table} (${kq.join(', ')}) VALUES (${kq.map((k) => `NEW.${k}`).join(', ')}) ON CONFLICT DO NOTHING;
    RETURN NULL;
  END IF;`;
  const h = (k: string) => `h.${k}`;
  const join = `${names.table} h JOIN ${table} p ON ${kq.map((k) => `${h(k)} = p.${k}`).join(' AND ')}`;
  const r = rowSql(d);
  const keys = 'lichen_pending_keys';
  return {
    name,
    table,
    copyPlaceable: choice.options.defaultPartition ? null : `(${col} IS NULL OR ${placeable(col)})`,
    create,
    drop: `DROP TABLE IF EXISTS ${table}`,
    guard,
    heapOutsideSql: `SELECT to_char(x.t, 'YYYY-MM-DD') AS start FROM (SELECT DISTINCT ${trunc(`h.${col}`)} AS t FROM ${names.table} h WHERE h.${col} IS NOT NULL AND ${finite(`h.${col}`)}) x WHERE NOT (${exists('x.t')}) ORDER BY 1`,
    heapUnplaceableSql: `SELECT count(*)::int AS n FROM ${names.table} h WHERE h.${col} IS NOT NULL AND NOT ${finite(`h.${col}`)}`,
    byIndex: heapStartsByIndex(names.table, col, choice, type, trunc, exists),
    pendingStartsSql: `SELECT DISTINCT ${start(`h.${col}`)} AS start, NOT ${finite(`h.${col}`)} AS unplaceable FROM ${join} WHERE h.${col} IS NOT NULL ORDER BY 1`,
    replay: [
      `CREATE TEMP TABLE ${keys} ON COMMIT DROP AS WITH d AS (DELETE FROM ${table} RETURNING ${kq.join(', ')}) SELECT * FROM d`,
      // The heap's rows of those keys, locked (an application write of one waits for this transaction, then its sync applies on top).
      `SELECT 1 FROM ${names.table} h JOIN ${keys} k ON ${kq.map((x) => `h.${x} = k.${x}`).join(' AND ')} FOR SHARE OF h`,
      `DELETE FROM ${names.shadow} s USING ${keys} k WHERE ${kq.map((x) => `s.${x} = k.${x}`).join(' AND ')}`,
      `INSERT INTO ${names.shadow} (${r.insertColumns.join(', ')})${r.overriding} SELECT ${r.insertColumns.map((c) => `h.${c}`).join(', ')} FROM ${names.table} h JOIN ${keys} k ON ${kq.map((x) => `h.${x} = k.${x}`).join(' AND ')}`,
      `DROP TABLE ${keys}`,
    ],
    swapCheck: `DO $lichen$ BEGIN
  IF EXISTS (SELECT 1 FROM ${join} WHERE h.${col} IS NOT NULL AND NOT ${placeable(`h.${col}`)}) THEN
    RAISE EXCEPTION 'a write pending for ${names.shadow.replace(/'/g, "''")} has no partition yet' USING ERRCODE = '${PENDING_NO_PARTITION}';
  END IF;
END $lichen$`,
  };
}
