import type { ClientBase } from 'pg';

/** Partitions of a parent with bounds, size and estimated rows (one catalog query). */
export interface PartitionInfo {
  name: string;
  bounds: string;
  isDefault: boolean;
  bytes: number;
  size: string;
  estimatedRows: number;
}

export async function listPartitionInfo(c: ClientBase, parent: string): Promise<PartitionInfo[]> {
  const r = await c.query<{ name: string; bounds: string; bytes: string; size: string; est: string }>(
    `SELECT child.relname AS name,
            pg_get_expr(child.relpartbound, child.oid) AS bounds,
            pg_total_relation_size(child.oid)::text AS bytes,
            pg_size_pretty(pg_total_relation_size(child.oid)) AS size,
            greatest(child.reltuples, 0)::bigint::text AS est
       FROM pg_inherits i
       JOIN pg_class child ON child.oid = i.inhrelid
      WHERE i.inhparent = to_regclass($1)
      ORDER BY child.relname`,
    [parent],
  );
  return r.rows.map((x) => ({ name: x.name, bounds: x.bounds, isDefault: x.bounds === 'DEFAULT', bytes: Number(x.bytes), size: x.size, estimatedRows: Number(x.est) }));
}

/** relkind of the table: 'p' partitioned, 'r' heap, null absent. */
export async function relkindOf(c: ClientBase, table: string): Promise<string | null> {
  const r = await c.query<{ k: string | null }>(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k`, [table]);
  return r.rows[0]?.k ?? null;
}
