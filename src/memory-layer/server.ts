import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import type { PersistenceMode } from '../../workflows/types';
import { bootModeFromEnv, DEFAULT_LEASE_MS, DEFAULT_TARGET } from './control-plane';
import { InstanceControl } from './instance-control';
import { createControlPool } from './control-pool';
import { Orphans } from './orphans';
import { silentLogger, type Logger } from './logger';
import { ServiceMetrics } from './metrics';
import { DualStore } from './storage/dual-store';
import { MemoryStore } from './storage/memory-store';
import { PgStore } from './storage/pg-store';
import { createHandler } from './http/handler';

export interface MemoryServiceOptions {
  instanceId: string;
  /** A pool to use (not closed by stop()), or a URL to open one (closed by stop()). */
  pool?: Pool;
  databaseUrl?: string;
  /** Control-plane target (default memory_records). */
  target?: string;
  /** Table of the Postgres store (default: the target). */
  table?: string;
  adminToken: string;
  port?: number;
  host?: string;
  /** Boot defaults; the control row wins when there is one (default: bootModeFromEnv()). */
  bootMode?: PersistenceMode;
  heartbeatMs?: number;
  pollMs?: number;
  /** Self-fencing lease (default 8 s); shorter than the orchestrator's heartbeat TTL. */
  leaseMs?: number;
  logger?: Logger;
}

export interface MemoryService {
  url: string;
  instanceId: string;
  /** Stops accepting requests, lets in-flight ones finish, leaves the control plane. */
  stop(): Promise<void>;
  metricsText(): Promise<string>;
  /** For tests and embedding: the instance's stores and its control-plane member. */
  dual: DualStore;
  memory: MemoryStore;
  control: InstanceControl;
}

/**
 * One instance of the memory-layer service (node:http): the records API, /healthz, /metrics
 * and the admin API of the contract, over a dual store whose mode the control plane sets.
 */
export async function createMemoryService(opts: MemoryServiceOptions): Promise<MemoryService> {
  if (!opts.instanceId) throw new Error('createMemoryService: instanceId is required');
  if (!opts.adminToken) throw new Error('createMemoryService: adminToken is required (LICHEN_ADMIN_TOKEN)');
  if (!opts.pool && !opts.databaseUrl) throw new Error('createMemoryService: pass pool or databaseUrl (the control plane lives in Postgres)');
  const log = opts.logger ?? silentLogger;
  const ownPool = !opts.pool;
  const pool =
    opts.pool ??
    new Pool({
      connectionString: opts.databaseUrl,
      max: 10,
      // Fail fast when Postgres is down: requests get a 503 instead of hanging.
      connectionTimeoutMillis: 3_000,
      statement_timeout: 15_000,
      application_name: `lichen-memory:${opts.instanceId}`.slice(0, 63),
    });
  if (ownPool) pool.on('error', () => undefined); // idle-client errors surface on the next query
  const target = opts.target ?? DEFAULT_TARGET;
  const metrics = new ServiceMetrics();
  const memory = new MemoryStore();
  const dual = new DualStore({
    memory,
    postgres: new PgStore(pool, { table: opts.table ?? target }),
    metrics,
    mode: opts.bootMode ?? bootModeFromEnv(),
    logger: log,
  });
  const orphans = new Orphans({ instanceId: opts.instanceId, pool, table: opts.table ?? target, memory, metrics, logger: log });
  const handler = createHandler({ instanceId: opts.instanceId, dual, metrics, orphans, adminToken: opts.adminToken, logger: log });
  // Requests wait until the control row has been applied: none is served in a stale boot mode.
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const server = http.createServer((req, res) => void ready.then(() => handler(req, res)));
  // Idle keep-alive connections are closed by the client first: a server that closes one as a
  // client reuses it resets that request (ECONNRESET, seen on a busy machine with 5 s). Longer
  // than load balancers' and clients' idle timeouts (60 s); stop() closes idle ones at once.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  // The heartbeat's own connections, not the app's pool (control-pool.ts).
  const controlPool = createControlPool(opts.databaseUrl ? { connectionString: opts.databaseUrl } : pool.options, {
    instanceId: opts.instanceId,
    timeoutMs: opts.leaseMs ?? DEFAULT_LEASE_MS,
  });
  const control = new InstanceControl({
    pool: controlPool,
    instanceId: opts.instanceId,
    target,
    dual,
    adminUrl: url,
    heartbeatMs: opts.heartbeatMs,
    pollMs: opts.pollMs,
    leaseMs: opts.leaseMs,
    logger: log,
    onForgotten: (info) => orphans.cameBack(info),
  });
  dual.useFence(control);
  try {
    await control.start();
    markReady();
  } catch (err) {
    await new Promise((r) => server.close(r));
    await controlPool.end().catch(() => undefined);
    if (ownPool) await pool.end().catch(() => undefined);
    throw err;
  }
  log.info('memory-layer service listening', { url, instanceId: opts.instanceId, target, mode: dual.mode, epoch: dual.epoch });

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      // In-flight requests get a grace period, then their connections are cut.
      const grace = setTimeout(() => server.closeAllConnections(), 5_000);
      await closed;
      clearTimeout(grace);
      await control.stop();
      // A connection stuck on an unreachable Postgres must not keep the process from exiting.
      const end = (p: Pool) => Promise.race([p.end().catch(() => undefined), new Promise<void>((r) => setTimeout(r, 5_000).unref())]);
      await end(controlPool);
      if (ownPool) await end(pool);
      log.info('memory-layer service stopped', { instanceId: opts.instanceId });
    })());

  return { url, instanceId: opts.instanceId, stop, metricsText: () => metrics.text(), dual, memory, control };
}
