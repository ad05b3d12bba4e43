import type { ClientBase } from 'pg';
import { qi } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';
import { PARTITION_TYPES, type PartitionType } from '../../../src/conversion/choice/intervals';
import { rowsEstimate } from './rows-estimate';
import { columnIndexedSql } from './range-parity-sql';

/** What the data says, for the plan: rows, and the partition column's range, NULLs and infinities. */
export interface DataFacts {
  rows: number;
  /** `rows` is the planner's estimate (a large table read through its index on the column); absent: counted. */
  rowsEstimated?: true;
  /** The lowest and highest finite value, as its UTC day 'YYYY-MM-DD' (null: no finite value). */
  minDay: string | null;
  maxDay: string | null;
  /** The same, as readable text (UTC for timestamptz). */
  min: string | null;
  max: string | null;
  nulls: number;
  /** Values ±infinity, or with a year outside 1–9999: no interval holds them. */
  outside: number;
  /** Of those, the ones above every interval (+infinity, a year after 9999): mode attach's history partition [MINVALUE, bound) holds the others (absent: facts read before it was counted). */
  outsideAbove?: number;
}

/** The partition column's type as the plan needs it (a domain counts as its base type), or null when it cannot partition by interval. */
export function partitionTypeOf(baseType: string): PartitionType | null {
  // A precision (`timestamp(3) without time zone`, as ORMs declare them) changes nothing about the partitions: the type without it.
  const t = baseType.replace(/^(timestamp)\(\d+\)/, '$1');
  return (PARTITION_TYPES as readonly string[]).includes(t) ? (t as PartitionType) : null;
}

/** From this many rows (the planner's estimate) a table with a btree index led by the partition column is read through that index, never scanned whole. */
export const INDEX_FACTS_MIN_ROWS = 250_000;

export interface DataFactsOptions {
  /** Overrides INDEX_FACTS_MIN_ROWS (tests force either path on a small table). */
  indexFromRows?: number;
}

/**
 * The table's data facts. A LARGE table (INDEX_FACTS_MIN_ROWS) with a valid, non-partial btree index
 * whose first column is the partition column: each fact is one range read of that index, and `rows`
 * the planner's estimate (`rowsEstimated`). Otherwise one full scan, every fact exact. Both give the
 * same facts but `rows`. Read-only.
 */
export async function readDataFacts(c: Pick<ClientBase, 'query'>, d: TableDescriptor, column: string, type: PartitionType, opts: DataFactsOptions = {}): Promise<DataFacts> {
  const estimate = await rowsEstimate(c, d.qualified);
  if (estimate >= (opts.indexFromRows ?? INDEX_FACTS_MIN_ROWS) && (await c.query<{ indexed: boolean }>(columnIndexedSql, [d.qualified, column])).rows[0].indexed) {
    return readThroughIndex(c, d, column, type, estimate);
  }
  return readByScan(c, d, column, type);
}

/**
 * A year in 1–9999 (what `isfinite(col) AND extract(year FROM col) BETWEEN 1 AND 9999` keeps), as a
 * range of the column: -infinity and BC values sort below 0001-01-01, +infinity and year 10000 on at or
 * above 10000-01-01. The literals are read in the session's TimeZone, as extract(year) of a
 * timestamptz is: both paths keep the same values in any zone.
 */
const bounds = (type: PartitionType) => ({ lo: `'0001-01-01'::${type}`, hi: `'10000-01-01'::${type}` });

/** The facts as ranges of the column's index, in one statement (one snapshot). */
async function readThroughIndex(c: Pick<ClientBase, 'query'>, d: TableDescriptor, column: string, type: PartitionType, estimate: number): Promise<DataFacts> {
  const col = `t.${qi(column)}`;
  const utc = (v: string) => (type === 'timestamp with time zone' ? `(${v} AT TIME ZONE 'UTC')` : v);
  const { lo, hi } = bounds(type);
  const count = (where: string) => `(SELECT count(*) FROM ${d.qualified} t WHERE ${where})::text`;
  // The first and the last finite value: one index read each, from either end of the range.
  const end = (dir: 'ASC' | 'DESC') => `(SELECT ${col} AS v FROM ${d.qualified} t WHERE ${col} >= ${lo} AND ${col} < ${hi} ORDER BY ${col} ${dir} LIMIT 1)`;
  const r = await c.query<{ nulls: string; below: string; above: string; min_day: string | null; max_day: string | null; min: string | null; max: string | null }>(
    `SELECT ${count(`${col} IS NULL`)} AS nulls, ${count(`${col} < ${lo}`)} AS below, ${count(`${col} >= ${hi}`)} AS above,
            to_char(${utc('lo.v')}, 'YYYY-MM-DD') AS min_day, to_char(${utc('hi.v')}, 'YYYY-MM-DD') AS max_day,
            lo.v::text AS min, hi.v::text AS max
       FROM (SELECT) one LEFT JOIN ${end('ASC')} lo ON true LEFT JOIN ${end('DESC')} hi ON true`,
  );
  const x = r.rows[0];
  const above = Number(x.above);
  return { rows: Math.round(estimate), rowsEstimated: true, nulls: Number(x.nulls), outside: Number(x.below) + above, outsideAbove: above, minDay: x.min_day, maxDay: x.max_day, min: x.min, max: x.max };
}

/**
 * One read-only scan of the table: count, the column's finite min and max (in UTC), NULLs and
 * values outside every interval.
 */
async function readByScan(c: Pick<ClientBase, 'query'>, d: TableDescriptor, column: string, type: PartitionType): Promise<DataFacts> {
  const col = `t.${qi(column)}`;
  const utc = type === 'timestamp with time zone' ? `(${col} AT TIME ZONE 'UTC')` : col;
  const finite = `(isfinite(${col}) AND extract(year FROM ${col}) BETWEEN 1 AND 9999)`;
  const r = await c.query<{ rows: string; nulls: string; outside: string; outside_above: string; min_day: string | null; max_day: string | null; min: string | null; max: string | null }>(
    `SELECT count(*)::text AS rows,
            count(*) FILTER (WHERE ${col} IS NULL)::text AS nulls,
            count(*) FILTER (WHERE ${col} IS NOT NULL AND NOT ${finite})::text AS outside,
            count(*) FILTER (WHERE ${col} IS NOT NULL AND NOT ${finite} AND ${col} > '2000-01-01')::text AS outside_above,
            to_char(min(${utc}) FILTER (WHERE ${finite}), 'YYYY-MM-DD') AS min_day,
            to_char(max(${utc}) FILTER (WHERE ${finite}), 'YYYY-MM-DD') AS max_day,
            (min(${col}) FILTER (WHERE ${finite}))::text AS min,
            (max(${col}) FILTER (WHERE ${finite}))::text AS max
       FROM ${d.qualified} t`,
  );
  const x = r.rows[0];
  return { rows: Number(x.rows), nulls: Number(x.nulls), outside: Number(x.outside), outsideAbove: Number(x.outside_above), minDay: x.min_day, maxDay: x.max_day, min: x.min, max: x.max };
}
