import type { Pool, PoolClient } from 'pg';

/**
 * `pool.connect()` for a client held across several queries (a transaction, a snapshot). While
 * a client is checked out the pool no longer listens to its errors, so a connection dropped
 * between two queries (Postgres restarted) would be an uncaught 'error' event that crashes the
 * process. Here it is absorbed: the failure surfaces, as it should, in the query that follows.
 */
export async function checkout(pool: Pool): Promise<PoolClient> {
  const c = await pool.connect();
  const absorb = () => undefined;
  c.on('error', absorb);
  const release = c.release.bind(c);
  c.release = (err?: Error | boolean) => {
    c.off('error', absorb);
    return release(err);
  };
  return c;
}
