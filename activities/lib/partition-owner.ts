import type { ClientBase } from 'pg';

/**
 * A partition the worker creates belongs to the table's owner and carries the table's grants
 * (table and column privileges): Postgres gives a new partition the creating role as owner and
 * no grants, and `ALTER TABLE … OWNER TO` on the parent does not reach its partitions — the
 * owner could no longer ALTER or ANALYZE them. Read from the parent's catalog entry at the time,
 * so a later change of the parent's owner or grants is followed. Run it in the transaction that
 * created the partition. Returns the statements it ran.
 */
export async function takeParentOwnerAndGrants(c: Pick<ClientBase, 'query'>, parent: string, partition: string): Promise<string[]> {
  const r = await c.query<{ sql: string }>(
    `WITH p AS (SELECT oid, relowner, relacl FROM pg_class WHERE oid = to_regclass($1)),
          part AS (SELECT oid, relowner FROM pg_class WHERE oid = to_regclass($2))
     SELECT sql FROM (
       SELECT 1 AS ord, format('ALTER TABLE %s OWNER TO %I', $2, pg_get_userbyid(p.relowner)) AS sql
         FROM p, part WHERE part.relowner <> p.relowner
       UNION ALL
       SELECT 2, format('GRANT %s ON %s TO %s%s', a.privilege_type, $2,
                        CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                        CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
         FROM p, aclexplode(p.relacl) a WHERE a.grantee <> p.relowner
       UNION ALL
       SELECT 3, format('GRANT %s (%I) ON %s TO %s%s', a.privilege_type, att.attname, $2,
                        CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                        CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
         FROM p JOIN pg_attribute att ON att.attrelid = p.oid AND att.attnum > 0 AND NOT att.attisdropped AND att.attacl IS NOT NULL,
              aclexplode(att.attacl) a WHERE a.grantee <> p.relowner
     ) s ORDER BY ord, sql`,
    [parent, partition],
  );
  const out = r.rows.map((x) => x.sql);
  for (const s of out) await c.query(s);
  return out;
}
