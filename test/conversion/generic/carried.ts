import type { Pool } from 'pg';

/**
 * What a conversion must carry of a table's columns and constraints, as one comparable list:
 * each column's type, collation, NOT NULL, identity, generation and default; each check and
 * foreign key by name with its definition and whether it is validated; each NOT NULL
 * constraint (18) by name and column with whether it is validated. Read before and after the swap.
 */
export async function carriedSignature(pool: Pool, table: string): Promise<string[]> {
  const r = await pool.query<{ s: string }>(
    `SELECT format('column %s %s collate %s notnull %s identity %s generated %s default %s', a.attname, format_type(a.atttypid, a.atttypmod),
                   a.attcollation::regcollation, a.attnotnull, a.attidentity, a.attgenerated,
                   regexp_replace(coalesce(pg_get_expr(d.adbin, d.adrelid), ''), 'nextval\\(''[^'']*''', 'nextval(…')) AS s
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
     UNION ALL
     SELECT format('constraint %s %s validated %s', co.conname, pg_get_constraintdef(co.oid), co.convalidated)
       FROM pg_constraint co WHERE co.conrelid = $1::regclass AND co.contype IN ('c', 'f')
     UNION ALL
     SELECT format('not null %s on %s validated %s', co.conname, a.attname, co.convalidated)
       FROM pg_constraint co JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1]
      WHERE co.conrelid = $1::regclass AND co.contype = 'n'
     ORDER BY 1`,
    [table],
  );
  return r.rows.map((x) => x.s);
}
