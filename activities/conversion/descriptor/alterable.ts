import type { ClientBase } from 'pg';
import type { NotAlterable } from './types';

/**
 * The objects the conversion alters that the reading role (the worker's) may not: the table
 * (shadow owner, triggers, renames), its dependent views (replaced in the swap), the tables whose
 * foreign keys point at it (dropped at the swap by choice), its publications `FOR TABLE` (moved
 * in the swap) and its serial sequences (`OWNED BY` moved); each needs ownership, by the role or
 * by membership (`pg_has_role … USAGE`). And the schema, where the shadow is created (CREATE).
 */
export async function readNotAlterable(c: Pick<ClientBase, 'query'>, oid: number, views: string[]): Promise<NotAlterable[]> {
  const r = await c.query<NotAlterable>(
    `SELECT what, object, pg_get_userbyid(o) AS owner, via FROM (
       SELECT 'table' AS what, c.oid::regclass::text AS object, c.relowner AS o, NULL::text AS via FROM pg_class c WHERE c.oid = $1
       UNION ALL
       SELECT CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END, v.oid::regclass::text, v.relowner, NULL
         FROM unnest($2::text[]) n JOIN pg_class v ON v.oid = to_regclass(n)
       UNION ALL
       SELECT 'table', co.conrelid::regclass::text, r.relowner, co.conname::text
         FROM pg_constraint co JOIN pg_class r ON r.oid = co.conrelid WHERE co.confrelid = $1 AND co.contype = 'f' AND co.conrelid <> $1
       UNION ALL
       SELECT 'publication', quote_ident(p.pubname), p.pubowner, NULL FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid WHERE pr.prrelid = $1
       UNION ALL
       SELECT 'sequence', s.oid::regclass::text, s.relowner, NULL
         FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
        WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1 AND d.deptype = 'a'
     ) x WHERE NOT pg_has_role(current_user, x.o, 'USAGE')
     UNION ALL
     SELECT 'schema', quote_ident(n.nspname), pg_get_userbyid(n.nspowner), NULL FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = $1 AND NOT has_schema_privilege(current_user, n.oid, 'CREATE')
     ORDER BY 1, 2`,
    [oid, views],
  );
  return r.rows;
}
