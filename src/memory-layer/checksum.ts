import crypto from 'node:crypto';
import type { MemoryRecord } from './record';

/**
 * The parity checksum, defined once and computed identically in Node (memory store) and in
 * Postgres (partitioned or heap table).
 *
 * Row digest: md5 of `id|created_us|updated_us|owner_id|kind|content`, where `*_us` are the
 * timestamps as integer microseconds since the Unix epoch. The row's value is the first 64 bits
 * of the digest read as a signed 64-bit integer. A set's checksum is the exact (arbitrary
 * precision) sum of its rows' values, as a decimal string, with the row count beside it.
 * It is order-independent, so ranges can be checked in parallel and combined by addition.
 * `agent_id` and `metadata` are not part of it: `updated_at` changes with every write, so a
 * differing version is caught by the timestamp.
 */
export function rowDigestInput(r: Pick<MemoryRecord, 'id' | 'createdAt' | 'updatedAt' | 'ownerId' | 'kind' | 'content'>): string {
  const us = (d: Date) => (BigInt(d.getTime()) * 1000n).toString();
  return `${r.id}|${us(r.createdAt)}|${us(r.updatedAt)}|${r.ownerId}|${r.kind}|${r.content}`;
}

export function rowValue(r: Parameters<typeof rowDigestInput>[0]): bigint {
  const hex = crypto.createHash('md5').update(rowDigestInput(r), 'utf8').digest('hex').slice(0, 16);
  return BigInt.asIntN(64, BigInt(`0x${hex}`));
}

export interface Checksum {
  count: number;
  /** Exact sum of row values, decimal. */
  sum: string;
}

export function checksumOf(rows: Iterable<Parameters<typeof rowDigestInput>[0]>): Checksum {
  let count = 0;
  let sum = 0n;
  for (const r of rows) {
    count++;
    sum += rowValue(r);
  }
  return { count, sum: sum.toString() };
}

export function addChecksums(a: Checksum, b: Checksum): Checksum {
  return { count: a.count + b.count, sum: (BigInt(a.sum) + BigInt(b.sum)).toString() };
}

/** The same row value in SQL, over columns of `alias` (a table alias or name). */
export function rowValueSql(alias: string): string {
  const us = (col: string) => `(extract(epoch from ${alias}.${col}) * 1000000)::bigint::text`;
  return `('x' || substr(md5(${alias}.id::text || '|' || ${us('created_at')} || '|' || ${us('updated_at')} || '|' || ${alias}.owner_id || '|' || ${alias}.kind || '|' || ${alias}.content), 1, 16))::bit(64)::bigint`;
}

/**
 * SQL returning `count` and `sum` (numeric, as text) of table `table` (an already-quoted
 * identifier) over `created_at` in [$1, $2).
 */
export function rangeChecksumSql(table: string): string {
  return `SELECT count(*)::bigint AS count, coalesce(sum(${rowValueSql('t')}), 0)::text AS sum
            FROM ${table} t WHERE t.created_at >= $1 AND t.created_at < $2`;
}
