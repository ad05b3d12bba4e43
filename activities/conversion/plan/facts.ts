import type { ClientBase } from 'pg';
import { qi } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';
import { PARTITION_TYPES, type PartitionType } from '../../../src/conversion/choice/intervals';

/** What the data says, for the plan: rows, and the partition column's range, NULLs and infinities. */
export interface DataFacts {
  rows: number;
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

/**
 * One read-only scan of the table: count, the column's finite min and max (in UTC), NULLs and
 * values outside every interval. Read-only; run it where a full scan is acceptable.
 */
export async function readDataFacts(c: Pick<ClientBase, 'query'>, d: TableDescriptor, column: string, type: PartitionType): Promise<DataFacts> {
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
