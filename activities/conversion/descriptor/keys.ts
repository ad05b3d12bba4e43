import type { ClientBase } from 'pg';
import type { PgFeatures } from '../../../src/shared/pg-version';
import type { ConstraintDesc, IncomingForeignKey, IndexDesc } from './types';

type Q = Pick<ClientBase, 'query'>;

/** Constraints of the table (primary key, unique, check, foreign keys out, exclusion). */
export async function readConstraints(c: Q, oid: number): Promise<ConstraintDesc[]> {
  const r = await c.query<{
    name: string; type: string; definition: string; columns: string[] | null; index: string | null;
    deferrable: boolean; validated: boolean; no_inherit: boolean; comment: string | null;
  }>(
    `SELECT co.conname AS name, co.contype::text AS type, pg_get_constraintdef(co.oid) AS definition,
            (SELECT array_agg(a.attname::text ORDER BY k.i) FROM unnest(co.conkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.n) AS columns,
            CASE WHEN co.contype IN ('p', 'u', 'x') THEN (SELECT relname FROM pg_class WHERE oid = co.conindid) END AS index,
            co.condeferrable AS deferrable, co.convalidated AS validated, co.connoinherit AS no_inherit,
            obj_description(co.oid, 'pg_constraint') AS comment
       FROM pg_constraint co
      WHERE co.conrelid = $1 AND co.contype IN ('p', 'u', 'c', 'f', 'x')
      ORDER BY CASE co.contype WHEN 'p' THEN 0 ELSE 1 END, co.conname`,
    [oid],
  );
  return r.rows.map((x) => ({
    name: x.name, type: x.type, definition: x.definition, columns: x.columns ?? [], index: x.index,
    deferrable: x.deferrable, validated: x.validated, noInherit: x.no_inherit, comment: x.comment,
  }));
}

/** Every index of the table, with its key elements rendered one by one (NULLS NOT DISTINCT: 15+, false before). */
export async function readIndexes(c: Q, oid: number, f: Pick<PgFeatures, 'nullsNotDistinct'>): Promise<IndexDesc[]> {
  const r = await c.query<{
    name: string; definition: string; method: string; unique: boolean; key_columns: (string | null)[]; key_elements: string[];
    include_columns: string[] | null; predicate: string | null; options: string[] | null; constraint: string | null;
    replident: boolean; nnd: boolean; comment: string | null; valid: boolean;
  }>(
    `SELECT ic.relname AS name, pg_get_indexdef(x.indexrelid) AS definition, am.amname AS method, x.indisunique AS unique,
            (SELECT array_agg(CASE WHEN k.n = 0 THEN NULL ELSE a.attname::text END ORDER BY k.i)
               FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(n, i)
               LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n
              WHERE k.i <= x.indnkeyatts) AS key_columns,
            (SELECT array_agg(pg_get_indexdef(x.indexrelid, g, true) ORDER BY g) FROM generate_series(1, x.indnkeyatts) g) AS key_elements,
            (SELECT array_agg(a.attname::text ORDER BY k.i)
               FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(n, i)
               JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n
              WHERE k.i > x.indnkeyatts) AS include_columns,
            pg_get_expr(x.indpred, x.indrelid) AS predicate, ic.reloptions AS options,
            (SELECT conname FROM pg_constraint WHERE conindid = x.indexrelid AND conrelid = x.indrelid AND contype IN ('p', 'u', 'x')) AS constraint,
            x.indisreplident AS replident, ${f.nullsNotDistinct ? 'x.indnullsnotdistinct' : 'false'} AS nnd, obj_description(x.indexrelid, 'pg_class') AS comment,
            x.indisvalid AS valid
       FROM pg_index x
       JOIN pg_class ic ON ic.oid = x.indexrelid
       JOIN pg_am am ON am.oid = ic.relam
      WHERE x.indrelid = $1
      ORDER BY ic.relname`,
    [oid],
  );
  return r.rows.map((x) => ({
    name: x.name, definition: x.definition, method: x.method, unique: x.unique, keyColumns: x.key_columns ?? [],
    keyElements: x.key_elements ?? [], includeColumns: x.include_columns ?? [], predicate: x.predicate, options: x.options ?? [],
    constraint: x.constraint, replicaIdentity: x.replident, nullsNotDistinct: x.nnd, comment: x.comment, valid: x.valid,
  }));
}

/** Foreign keys of other tables (and of the table itself) that reference this one. */
export async function readIncomingForeignKeys(c: Q, oid: number): Promise<IncomingForeignKey[]> {
  const r = await c.query<{ name: string; from_table: string; definition: string; columns: string[]; ref_columns: string[] }>(
    `SELECT co.conname AS name, co.conrelid::regclass::text AS from_table, pg_get_constraintdef(co.oid) AS definition,
            (SELECT array_agg(a.attname::text ORDER BY k.i) FROM unnest(co.conkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.n) AS columns,
            (SELECT array_agg(a.attname::text ORDER BY k.i) FROM unnest(co.confkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.n) AS ref_columns
       FROM pg_constraint co
      WHERE co.confrelid = $1 AND co.contype = 'f' AND co.conparentid = 0
      ORDER BY 2, 1`,
    [oid],
  );
  return r.rows.map((x) => ({ name: x.name, fromTable: x.from_table, definition: x.definition, columns: x.columns, referencedColumns: x.ref_columns }));
}
