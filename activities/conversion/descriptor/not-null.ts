import type { ClientBase } from 'pg';
import type { PgFeatures } from '../../../src/shared/pg-version';
import type { ColumnDesc, NotValidNotNull } from './types';

type Q = Pick<ClientBase, 'query'>;

/**
 * NOT NULL constraints added `NOT VALID` (PostgreSQL 18: pg_constraint rows of contype 'n').
 * pg_attribute.attnotnull is true for them although old rows may still hold NULLs; none before 18.
 */
export async function readNotValidNotNull(c: Q, oid: number, f: Pick<PgFeatures, 'notNullConstraints'>): Promise<NotValidNotNull[]> {
  if (!f.notNullConstraints) return [];
  const r = await c.query<NotValidNotNull>(
    `SELECT a.attname AS column, co.conname AS constraint
       FROM pg_constraint co JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1]
      WHERE co.conrelid = $1 AND co.contype = 'n' AND NOT co.convalidated
      ORDER BY a.attnum`,
    [oid],
  );
  return r.rows;
}

/** Columns as the copy must treat them: one with a NOT VALID NOT NULL may hold NULLs, so it is not `notNull`. */
export function withoutNotValidNotNull(columns: ColumnDesc[], notValid: NotValidNotNull[]): ColumnDesc[] {
  const names = new Set(notValid.map((n) => n.column));
  return columns.map((col) => (names.has(col.name) ? { ...col, notNull: false } : col));
}
