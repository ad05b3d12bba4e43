import { Pool, type PoolConfig } from 'pg';

/**
 * The control plane's own connections (heartbeat, control-row reads, LISTEN): never the app's
 * pool, so a saturated app pool under a slow Postgres (every connection busy on a write that
 * waits) does not starve the heartbeat and fence a healthy instance. Two connections: the LISTEN
 * one and one for the renewal cycle and the poll. Every statement is bounded on both sides —
 * statement_timeout (Postgres ends it) and query_timeout (the driver gives up, also when the
 * network does not answer) — to `timeoutMs` (the lease: a cycle slower than that cannot renew
 * it anyway), and so is waiting for a connection.
 */
export function createControlPool(base: Pick<PoolConfig, 'connectionString' | 'host' | 'port' | 'user' | 'password' | 'database' | 'ssl'>, opts: { instanceId: string; timeoutMs: number }): Pool {
  const timeoutMs = Math.max(500, Math.floor(opts.timeoutMs));
  const pool = new Pool({
    connectionString: base.connectionString,
    host: base.host,
    port: base.port,
    user: base.user,
    password: base.password,
    database: base.database,
    ssl: base.ssl,
    max: 2,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs,
    application_name: `lichen-control:${opts.instanceId}`.slice(0, 63),
  });
  pool.on('error', () => undefined); // idle-client errors surface on the next query
  return pool;
}
