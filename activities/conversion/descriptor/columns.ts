import type { ClientBase } from 'pg';
import type { ColumnDesc, Grant } from './types';

type Q = Pick<ClientBase, 'query'>;

/** Privileges of an aclitem[] (relacl, attacl), without the owner's implicit ones. */
export function aclSql(acl: string, owner: string): string {
  return `(SELECT coalesce(json_agg(json_build_object('grantee', CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee) END,
                                                    'privilege', a.privilege_type, 'grantable', a.is_grantable)
                                   ORDER BY 1, a.privilege_type), '[]'::json)
             FROM aclexplode(${acl}) a WHERE a.grantee <> ${owner})`;
}

/** Columns in attnum order (dropped ones skipped). Expects an empty search_path (read.ts). */
export async function readColumns(c: Q, oid: number): Promise<ColumnDesc[]> {
  const r = await c.query<{
    name: string; attnum: number; type: string; typtype: string; base_type: string; element_type: string | null; not_null: boolean; not_null_invalid: string | null; not_null_name: string | null;
    def: string | null; identity: string; generated: string; collation: string | null; comment: string | null; grants: Grant[];
  }>(
    `SELECT a.attname AS name, a.attnum::int AS attnum, format_type(a.atttypid, a.atttypmod) AS type, t.typtype::text AS typtype,
            CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE format_type(a.atttypid, a.atttypmod) END AS base_type,
            CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN format_type(t.typelem, NULL) END AS element_type,
            a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS def,
            (SELECT co.conname FROM pg_constraint co WHERE co.conrelid = a.attrelid AND co.contype = 'n' AND co.conkey[1] = a.attnum AND NOT co.convalidated) AS not_null_invalid,
            (SELECT co.conname FROM pg_constraint co WHERE co.conrelid = a.attrelid AND co.contype = 'n' AND co.conkey[1] = a.attnum) AS not_null_name,
            a.attidentity::text AS identity, a.attgenerated::text AS generated,
            CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                 THEN (SELECT quote_ident(n.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation,
            col_description(a.attrelid, a.attnum) AS comment,
            ${aclSql('a.attacl', 'cl.relowner')} AS grants
       FROM pg_attribute a
       JOIN pg_class cl ON cl.oid = a.attrelid
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [oid],
  );
  return r.rows.map((x) => {
    const generated = (x.generated as ColumnDesc['generated']) || '';
    return {
      name: x.name,
      attnum: x.attnum,
      type: x.type,
      typtype: x.typtype,
      baseType: x.base_type,
      elementType: x.element_type,
      notNull: x.not_null,
      notNullNotValid: x.not_null_invalid,
      notNullName: x.not_null_name,
      default: generated ? null : x.def,
      identity: (x.identity as ColumnDesc['identity']) || '',
      generated,
      generationExpr: generated ? x.def : null,
      collation: x.collation,
      comment: x.comment,
      grants: x.grants,
    };
  });
}
