import type { ClientBase } from 'pg';

export type DetachMode = 'concurrently' | 'plain' | 'finalized' | 'already-detached';

/**
 * Detaches one partition under lock_timeout: an interrupted DETACH … CONCURRENTLY is finalized;
 * CONCURRENTLY (in autocommit: it cannot run in a transaction) unless the parent has a default
 * partition, which PostgreSQL does not allow with it — then a plain DETACH in its own
 * transaction. Idempotent: a partition no longer attached is 'already-detached'. `parent` and
 * `part` are quoted, possibly schema-qualified names (usable in SQL and in to_regclass).
 */
export async function detachOne(c: ClientBase, parent: string, part: string, lockTimeoutMs: number): Promise<DetachMode> {
  const st = await c.query<{ pending: boolean }>(`SELECT inhdetachpending AS pending FROM pg_inherits WHERE inhrelid = to_regclass($1) AND inhparent = to_regclass($2)`, [part, parent]);
  if (!st.rowCount) return 'already-detached';
  await c.query(`SELECT set_config('lock_timeout', $1, false)`, [`${lockTimeoutMs}ms`]);
  try {
    if (st.rows[0].pending) {
      await c.query(`ALTER TABLE ${parent} DETACH PARTITION ${part} FINALIZE`);
      return 'finalized';
    }
    const def = await c.query(`SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1) AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'`, [parent]);
    if (!def.rowCount) {
      await c.query(`ALTER TABLE ${parent} DETACH PARTITION ${part} CONCURRENTLY`);
      return 'concurrently';
    }
    await c.query('BEGIN');
    try {
      await c.query(`ALTER TABLE ${parent} DETACH PARTITION ${part}`);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    return 'plain';
  } finally {
    await c.query(`SELECT set_config('lock_timeout', '0', false)`).catch(() => undefined);
  }
}
