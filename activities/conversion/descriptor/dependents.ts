import type { ClientBase } from 'pg';
import { aclSql } from './columns';
import type { DependentView, OtherDependent } from './types';

type Q = Pick<ClientBase, 'query'>;

/**
 * Views and materialized views whose query reads the table. They follow the table by OID:
 * after a rename swap they would read the old table, so the conversion recreates them on the
 * new one (only these direct dependents: views on views follow their view by OID).
 */
export async function readDependentViews(c: Q, oid: number): Promise<DependentView[]> {
  const r = await c.query<{
    name: string; relkind: string; definition: string; options: string[] | null; owner: string; dependents: string[] | null;
    indexes: string[] | null; grants: DependentView['grants']; comment: string | null;
  }>(
    `SELECT DISTINCT ON (v.oid) v.oid::regclass::text AS name, v.relkind::text AS relkind, pg_get_viewdef(v.oid) AS definition,
            v.reloptions AS options, pg_get_userbyid(v.relowner) AS owner,
            (SELECT array_agg(DISTINCT w.ev_class::regclass::text) FROM pg_depend d2 JOIN pg_rewrite w ON w.oid = d2.objid
              WHERE d2.classid = 'pg_rewrite'::regclass AND d2.refclassid = 'pg_class'::regclass AND d2.refobjid = v.oid AND w.ev_class <> v.oid) AS dependents,
            (SELECT array_agg(pg_get_indexdef(x.indexrelid) ORDER BY x.indexrelid) FROM pg_index x WHERE x.indrelid = v.oid) AS indexes,
            ${aclSql('v.relacl', 'v.relowner')} AS grants,
            obj_description(v.oid, 'pg_class') AS comment
       FROM pg_depend d
       JOIN pg_rewrite rw ON rw.oid = d.objid
       JOIN pg_class v ON v.oid = rw.ev_class
      WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1
        AND rw.ev_class <> $1 AND v.relkind IN ('v', 'm') AND rw.rulename = '_RETURN'
      ORDER BY v.oid`,
    [oid],
  );
  return r.rows.map((x) => ({
    name: x.name, kind: x.relkind === 'm' ? 'materialized view' : 'view', definition: x.definition.trim().replace(/;$/, ''),
    options: x.options ?? [], owner: x.owner, dependents: x.dependents ?? [], indexes: x.indexes ?? [], grants: x.grants, comment: x.comment,
  }));
}

/**
 * Everything else that follows the table by OID and that the conversion does not carry:
 * rules (other than views), functions with SQL-standard bodies, policies of other tables,
 * extended statistics, columns of other tables typed with the table's row type.
 */
export async function readOtherDependents(c: Q, oid: number): Promise<OtherDependent[]> {
  const r = await c.query<{ kind: string; name: string }>(
    `SELECT 'rule' AS kind, pg_describe_object(d.classid, d.objid, d.objsubid) AS name
       FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid
      WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1 AND rw.rulename <> '_RETURN'
     UNION
     SELECT 'function', pg_describe_object(d.classid, d.objid, d.objsubid)
       FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1
     UNION
     SELECT 'policy of another table', pg_describe_object(d.classid, d.objid, d.objsubid)
       FROM pg_depend d JOIN pg_policy p ON p.oid = d.objid
      WHERE d.classid = 'pg_policy'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1 AND p.polrelid <> $1
     UNION
     SELECT 'extended statistics', pg_describe_object('pg_statistic_ext'::regclass, s.oid, 0)
       FROM pg_statistic_ext s WHERE s.stxrelid = $1
     UNION
     SELECT 'column with the row type', a.attrelid::regclass::text || '.' || quote_ident(a.attname)
       FROM pg_attribute a JOIN pg_class t ON t.oid = $1
      WHERE a.atttypid = t.reltype AND a.attrelid <> $1 AND NOT a.attisdropped
     ORDER BY 1, 2`,
    [oid],
  );
  return r.rows;
}
