import { qi } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';
import type { Analysis } from './analyse';
import type { ConversionNames } from './names';
import { rowSql } from './sync-ddl';
import type { PendingSql } from './pending';

/**
 * The copy batch and the parity checksum, generated from the descriptor.
 *
 * Copy: keyset batches over the heap's key, `($1..$k) < key <= ($k+1..$2k)` (all-NULL lower bound:
 * from the first row), LIMIT `$2k+1`, read
 * FOR SHARE (a concurrent update or delete of a row waits for the batch, then its sync trigger
 * applies on top), inserted with ON CONFLICT DO NOTHING: a row already in the shadow came from
 * the sync, which saw every write since it was installed, so it is never older than the copy's.
 * Returns the batch size and the last key as text (the checkpoint).
 */
export function copyBatchSql(d: TableDescriptor, a: Analysis, n: ConversionNames, pending?: Pick<PendingSql, 'copyPlaceable' | 'table'> | null): string {
  const key = a.key!.columns;
  const types = key.map((k) => d.columns.find((c) => c.name === k)!.baseType); // a domain's base: `NULL::domain` may be refused (NOT NULL domain)
  const params = (from: number) => `(${key.map((_, i) => `$${from + i}::${types[i]}`).join(', ')})`;
  const hk = `(${key.map((k) => `h.${qi(k)}`).join(', ')})`;
  const r = rowSql(d);
  // A generated key column is not inserted (the shadow computes it) but the batch's last key needs it.
  const read = [...r.insertColumns, ...key.map(qi).filter((k) => !r.insertColumns.includes(k))];
  // Rows outside the shadow's range (written since the plan, beyond the premade partitions) wait as pending keys, as the sync's do (plan/pending.ts).
  const inRange = pending?.copyPlaceable ?? null;
  return `WITH src AS MATERIALIZED (
  SELECT ${read.map((c) => `h.${c}`).join(', ')} FROM ${n.table} h
   WHERE ($1::${types[0]} IS NULL OR ${hk} > ${params(1)}) AND ${hk} <= ${params(key.length + 1)}
   ORDER BY ${key.map((k) => `h.${qi(k)}`).join(', ')} LIMIT $${2 * key.length + 1} FOR SHARE
), ins AS (
  INSERT INTO ${n.shadow} (${r.insertColumns.join(', ')})${r.overriding} SELECT ${r.insertColumns.join(', ')} FROM src${inRange ? ` WHERE ${inRange}` : ''}
  ON CONFLICT (${a.conflictColumns.map(qi).join(', ')}) DO NOTHING RETURNING 1
)${inRange ? `, pend AS (
  INSERT INTO ${pending!.table} (${key.map(qi).join(', ')}) SELECT ${key.map(qi).join(', ')} FROM src WHERE NOT ${inRange} ON CONFLICT DO NOTHING
)` : ''}, last AS (SELECT ${key.map(qi).join(', ')} FROM src ORDER BY ${key.map((k) => `${qi(k)} DESC`).join(', ')} LIMIT 1)
SELECT (SELECT count(*) FROM src)::int AS n, (SELECT count(*) FROM ins)::int AS written,
       (SELECT json_build_array(${key.map((k) => `${qi(k)}::text`).join(', ')}) FROM last) AS last_key`;
}

/** The heap's last key (the copy's upper bound, taken after the sync is installed). */
export function lastKeySql(a: Analysis, n: ConversionNames): string {
  const key = a.key!.columns;
  return `SELECT json_build_array(${key.map((k) => `${qi(k)}::text`).join(', ')}) AS last_key FROM ${n.table} ORDER BY ${key.map((k) => `${qi(k)} DESC`).join(', ')} LIMIT 1`;
}

/**
 * Count and checksum of `table` over the partition column in [$1, $2): the sum of the first 64
 * bits of md5 of each row's whole text image (every column, generated ones included), so
 * ranges compare in any order and any column's difference shows.
 */
export function rangeChecksumSql(table: string, column: string, type: string): string {
  return `SELECT count(*)::bigint::text AS count, coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint), 0)::text AS sum
  FROM ${table} t WHERE t.${qi(column)} >= $1::${type} AND t.${qi(column)} < $2::${type}`;
}

/** Count and checksum of rows outside [$1, $2) (the DEFAULT partition's share). */
export function outsideChecksumSql(table: string, column: string, type: string): string {
  return `SELECT count(*)::bigint::text AS count, coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint), 0)::text AS sum
  FROM ${table} t WHERE NOT (t.${qi(column)} >= $1::${type} AND t.${qi(column)} < $2::${type})`;
}

/** Count and checksum of every row of `table` (no bound: ±infinity and NULL values are compared too). */
export function wholeChecksumSql(table: string): string {
  return `SELECT count(*)::bigint::text AS count, coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint), 0)::text AS sum FROM ${table} t`;
}
