import { qi } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';
import type { Analysis } from './analyse';
import type { ConversionNames } from './names';
import type { PendingSql } from './pending';
import { alwaysIdentity, rowSql } from './sync-ddl';

/**
 * Parity at any size: the heap and the shadow compared per key range (each range in its own short
 * REPEATABLE READ snapshot, so no snapshot holds vacuum back for a whole-table scan), and the repair
 * of a range that differs, key by key, from the heap's current state.
 *
 * Ranges are ranges of the heap's key `(lo, hi]` (NULL lo: from the first key; NULL hi: to the
 * end): the key is indexed on both sides (the shadow's unique key leads with it), so each range
 * reads only its rows whatever the partition column's indexes; together the ranges cover every
 * row of both tables (a shadow row whose key the heap lacks falls in one of them too).
 *
 * Parameters: $1..$k the lower key (all NULL: from the first), $k+1..$2k the upper key (all NULL: no bound).
 */
export interface RangeParitySql {
  /** The upper key of the range of `$k+1` rows after $1..$k (no row: null, the range is the last). */
  upper: string;
  /** Count and checksum of the heap's rows in the range (as rangeChecksumSql: md5 of the whole row image). */
  heap: string;
  shadow: string;
  /** The keys whose row image differs (missing on one side, or different), at most `$2k+1`. */
  differing: string;
  /** The repair of one key ($1..$k): the heap's current row (read FOR SHARE) upserted into the shadow, any other image of it deleted. */
  repair: string;
}

/** The key of a ranged comparison: its columns and their base types (the parameters' casts). */
export interface RangeKey {
  columns: string[];
  types: string[];
}

/**
 * The statements that compare two tables over one key, range by range (no repair: that is the shadow's alone).
 * `columnUpper` (partitionRangeSql's, absent from statements recorded before it): where a sub-range of a large
 * partition ends on the partition column.
 */
export type RangeCompareSql = Pick<RangeParitySql, 'upper' | 'heap' | 'shadow' | 'differing'> & { columnUpper?: string };

/**
 * The comparison of `left` and `right` per range of `key` (the ranges are `left`'s): before the
 * swap the heap and the shadow, after it the partitioned table and the old heap kept by the
 * reverse sync. `heap` reads `left`, `shadow` reads `right`. `exclude`: rows left out of the
 * comparison on both sides (the change-log engine: keys still in the log, whose shadow image lags
 * until replayed).
 */
export function rangeCompareSql(k0: RangeKey, left: string, right: string, exclude?: (alias: string) => string): RangeCompareSql {
  const key = k0.columns;
  const k = key.length;
  const types = k0.types;
  const params = (from: number) => `(${key.map((_, i) => `$${from + i}::${types[i]}`).join(', ')})`;
  const tuple = (alias: string) => `(${key.map((c) => `${alias}.${qi(c)}`).join(', ')})`;
  const inRange = (alias: string) => `($1::${types[0]} IS NULL OR ${tuple(alias)} > ${params(1)}) AND ($${k + 1}::${types[0]} IS NULL OR ${tuple(alias)} <= ${params(k + 1)})${exclude ? ` AND ${exclude(alias)}` : ''}`;
  const checksum = (table: string) => `SELECT count(*)::bigint::text AS count, coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint), 0)::text AS sum
  FROM ${table} t WHERE ${inRange('t')}`;
  const keyText = (alias: string) => `json_build_array(${key.map((c) => `${alias}.${qi(c)}::text`).join(', ')})`;
  const aliases = key.map((_, i) => `k${i}`);
  const side = (table: string, alias: string) => `SELECT ${key.map((c, i) => `${alias}.${qi(c)} AS k${i}`).join(', ')}, md5(${alias}::text) AS m FROM ${table} ${alias} WHERE ${inRange(alias)}`;
  return {
    upper: `SELECT ${keyText('h')} AS upper FROM ${left} h WHERE $1::${types[0]} IS NULL OR ${tuple('h')} > ${params(1)}
   ORDER BY ${key.map((c) => `h.${qi(c)}`).join(', ')} OFFSET $${k + 1}::bigint - 1 LIMIT 1`,
    heap: checksum(left),
    shadow: checksum(right),
    differing: `SELECT json_build_array(${aliases.join(', ')}) AS key FROM (${side(left, 'h')}) x FULL JOIN (${side(right, 's')}) y USING (${aliases.join(', ')})
   WHERE x.m IS DISTINCT FROM y.m LIMIT $${2 * k + 1}`,
  };
}

/** The key's base types, from the table's descriptor. */
export const rangeKeyOf = (d: TableDescriptor, a: Analysis): RangeKey => ({ columns: a.key!.columns, types: a.key!.columns.map((c) => d.columns.find((x) => x.name === c)!.baseType) });

/** `exclude`: see rangeCompareSql. */
export function rangeParitySql(d: TableDescriptor, a: Analysis, n: ConversionNames, pending?: Pick<PendingSql, 'copyPlaceable' | 'table'> | null, exclude?: (alias: string) => string): RangeParitySql {
  const rk = rangeKeyOf(d, a);
  const key = rk.columns;
  const types = rk.types;
  const params = (from: number) => `(${key.map((_, i) => `$${from + i}::${types[i]}`).join(', ')})`;
  const tuple = (alias: string) => `(${key.map((c) => `${alias}.${qi(c)}`).join(', ')})`;
  const r = rowSql(d);
  const conflict = a.conflictColumns;
  const fixed = [...conflict, ...alwaysIdentity(d)].map(qi);
  const set = r.insertColumns.filter((c) => !fixed.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
  const eqKey = (alias: string) => `${tuple(alias)} = ${params(1)}`;
  const placeable = pending?.copyPlaceable ?? null;
  return {
    ...rangeCompareSql(rk, n.table, n.shadow, exclude),
    // One statement, one snapshot: a writer of this key that commits after it started wrote the heap and (by the sync, in
    // its own transaction) the shadow, both invisible to it, so the DELETE never removes what a later write put there.
    repair: `WITH src AS MATERIALIZED (SELECT h.* FROM ${n.table} h WHERE ${eqKey('h')} FOR SHARE),
del AS (DELETE FROM ${n.shadow} s WHERE ${eqKey('s')} AND NOT EXISTS (SELECT 1 FROM src WHERE ${conflict.map((c) => `src.${qi(c)} IS NOT DISTINCT FROM s.${qi(c)}`).join(' AND ')}) RETURNING 1),
ins AS (INSERT INTO ${n.shadow} (${r.insertColumns.join(', ')})${r.overriding} SELECT ${r.insertColumns.join(', ')} FROM src${placeable ? ` WHERE ${placeable}` : ''}
  ON CONFLICT (${conflict.map(qi).join(', ')}) DO ${set.length ? `UPDATE SET ${set.join(', ')}` : 'NOTHING'} RETURNING 1)${placeable ? `,
pend AS (INSERT INTO ${pending!.table} (${key.map(qi).join(', ')}) SELECT ${key.map(qi).join(', ')} FROM src WHERE NOT ${placeable} ON CONFLICT DO NOTHING RETURNING 1)` : ''}
SELECT (SELECT count(*) FROM del)::int AS deleted, (SELECT count(*) FROM ins)::int AS written${placeable ? ', (SELECT count(*) FROM pend)::int AS pending' : ', 0 AS pending'}`,
  };
}

const ORDER = ['upper', 'heap', 'shadow', 'differing', 'repair'] as const;

/** The statements in the plan's parity phase, in this order. */
export const paritySql = (r: RangeParitySql): string[] => ORDER.map((x) => r[x]);

/** Back from the plan's parity phase (a plan recorded before this has 2 statements: none). */
export function parityFromPhase(statements: string[]): RangeParitySql | null {
  if (statements.length !== ORDER.length) return null;
  return Object.fromEntries(ORDER.map((x, i) => [x, statements[i]])) as unknown as RangeParitySql;
}

/**
 * The comparison per partition range (new runs): ranges of the partition column `[from, to)` whose
 * bounds are the shadow's partition bounds, so the shadow side of a range is one partition, read
 * whole (a sequential scan), and the heap side the rows of that bound (through the heap's index
 * on the column). Between and around the partitions the gaps are ranges too (their shadow side is
 * the DEFAULT partition, or nothing), and a last range takes the rows whose column is NULL: every
 * row of either table is in exactly one range. A partition larger than a range's budget is split
 * into sub-ranges of the partition column `[lo, hi)` inside its bound (`columnUpper`), each read once
 * on both sides through their indexes on the column (statements recorded before that split into key
 * sub-ranges `(lo, hi]`, each of which read the heap's rows of the whole bound).
 *
 * Parameters: $1 `from` (NULL: no lower bound), $2 `to` (NULL: no upper bound), $3 true for the
 * NULL range (then $1, $2 are ignored), $4..$3+k the lower key (all NULL: from the first),
 * $4+k..$3+2k the upper key (all NULL: no bound; `upper` has none: its limit is $4+k), `differing` its limit after them.
 * `columnUpper` takes $1..$3 and the sub-range's rows as $4.
 */
export function partitionRangeSql(k0: RangeKey, column: { name: string; type: string }, left: string, right: string, exclude?: (alias: string) => string): RangeCompareSql {
  const key = k0.columns;
  const k = key.length;
  const types = k0.types;
  const col = (alias: string) => `${alias}.${qi(column.name)}`;
  const T = column.type;
  const params = (from: number) => `(${key.map((_, i) => `$${from + i}::${types[i]}`).join(', ')})`;
  const tuple = (alias: string) => `(${key.map((c) => `${alias}.${qi(c)}`).join(', ')})`;
  // Constant parameters fold away in the custom plan of each execution: the shadow side is pruned to the bound's partition.
  const inBound = (alias: string) => `(($3::boolean AND ${col(alias)} IS NULL) OR (NOT $3::boolean AND ($1::${T} IS NULL OR ${col(alias)} >= $1::${T}) AND ($2::${T} IS NULL OR ${col(alias)} < $2::${T})))`;
  const inKeys = (alias: string) => `($4::${types[0]} IS NULL OR ${tuple(alias)} > ${params(4)}) AND ($${k + 4}::${types[0]} IS NULL OR ${tuple(alias)} <= ${params(k + 4)})`;
  const inRange = (alias: string) => `${inBound(alias)} AND ${inKeys(alias)}${exclude ? ` AND ${exclude(alias)}` : ''}`;
  const checksum = (table: string) => `SELECT count(*)::bigint::text AS count, coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint), 0)::text AS sum
  FROM ${table} t WHERE ${inRange('t')}`;
  const aliases = key.map((_, i) => `k${i}`);
  const side = (table: string, alias: string) => `SELECT ${key.map((c, i) => `${alias}.${qi(c)} AS k${i}`).join(', ')}, md5(${alias}::text) AS m FROM ${table} ${alias} WHERE ${inRange(alias)}`;
  return {
    // The sub-range's upper key: the shadow partition's own key index orders it (pruned to the bound's partition).
    upper: `SELECT json_build_array(${key.map((c) => `s.${qi(c)}::text`).join(', ')}) AS upper FROM ${right} s WHERE ${inBound('s')} AND ($4::${types[0]} IS NULL OR ${tuple('s')} > ${params(4)})
   ORDER BY ${key.map((c) => `s.${qi(c)}`).join(', ')} OFFSET $${k + 4}::bigint - 1 LIMIT 1`,
    // The sub-range from $1 ends at the column's value $4 rows on in `right` (pruned to the bound's partition, in the order of its
    // index on the column); when the whole sub-range holds one value, at the next value above it: never at its own start.
    // No row that far: the sub-range runs to the bound's end (no row).
    columnUpper: `SELECT (CASE WHEN $1::${T} IS NULL OR v.v > $1::${T} THEN v.v
         ELSE (SELECT min(${col('s')}) FROM ${right} s WHERE ${col('s')} > $1::${T} AND ($2::${T} IS NULL OR ${col('s')} < $2::${T})) END)::text AS upper
  FROM (SELECT ${col('s')} AS v FROM ${right} s WHERE ${inBound('s')} ORDER BY ${col('s')} OFFSET $4::bigint LIMIT 1) v`,
    heap: checksum(left),
    shadow: checksum(right),
    differing: `SELECT json_build_array(${aliases.join(', ')}) AS key FROM (${side(left, 'h')}) x FULL JOIN (${side(right, 's')}) y USING (${aliases.join(', ')})
   WHERE x.m IS DISTINCT FROM y.m LIMIT $${2 * k + 4}`,
  };
}

/** The partitions of `parent` with their bounds (pg_get_expr of relpartbound: `FOR VALUES FROM (…) TO (…)` or `DEFAULT`). */
export const partitionBoundsSql = `SELECT c.relname AS name, c.oid::regclass::text AS rel, pg_get_expr(c.relpartbound, c.oid) AS bound
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1) ORDER BY c.relname`;

/** A bound's value as text (NULL for MINVALUE / MAXVALUE), from pg_get_expr's `'…'` literal or bare number. */
export function boundValue(v: string): string | null {
  const s = v.trim();
  if (s === 'MINVALUE' || s === 'MAXVALUE') return null;
  if (s.startsWith("'") && s.endsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
  return s;
}

/** `FOR VALUES FROM (a) TO (b)` → [a, b]; `DEFAULT` → null (a single-column range bound only). */
export function rangeBound(bound: string): [string | null, string | null] | null {
  const m = /^FOR VALUES FROM \((.*)\) TO \((.*)\)$/s.exec(bound.trim());
  if (!m) return null;
  return [boundValue(m[1]), boundValue(m[2])];
}

/**
 * The next range from `$2` (NULL: the lowest), over the bound values `$1` (text): its upper bound
 * (NULL: none above), and `$2` and the partitions' bounds `$3`, `$4` normalised by the column's
 * type (text equality then means the same value).
 */
export const nextBoundSql = (type: string) => `SELECT (SELECT v::${type}::text FROM unnest($1::text[]) v WHERE $2::text IS NULL OR v::${type} > $2::${type} ORDER BY v::${type} LIMIT 1) AS next,
  $2::${type}::text AS at,
  ARRAY(SELECT v::${type}::text FROM unnest($3::text[]) WITH ORDINALITY u(v, o) ORDER BY o) AS lo,
  ARRAY(SELECT v::${type}::text FROM unnest($4::text[]) WITH ORDINALITY u(v, o) ORDER BY o) AS hi`;

/** Whether the heap has a valid, whole-table btree index whose first column is `$2` (the heap side of a partition range reads through it). */
export const columnIndexedSql = `SELECT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_am am ON am.oid = ic.relam
  JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
  WHERE x.indrelid = to_regclass($1) AND x.indisvalid AND x.indpred IS NULL AND am.amname = 'btree' AND a.attname = $2) AS indexed`;
