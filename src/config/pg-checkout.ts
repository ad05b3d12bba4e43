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
    // Back in the pool, the pool listens. Discarded (released with an error), the connection
    // may still parse the server's last message — a 57P01 "terminating connection" as Postgres
    // restarts — and emit it: keep absorbing (seen as an uncaught error in the chaos suite).
    if (!err) c.off('error', absorb);
    return release(err);
  };
  return c;
}
