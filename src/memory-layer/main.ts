import os from 'node:os';
import { createProfileResolver } from '../config/profiles';
import { bootModeFromEnv, DEFAULT_TARGET } from './control-plane';
import { jsonLogger } from './logger';
import { createMemoryService } from './server';

/**
 * `npm run server`: one memory-layer instance.
 *   PORT (default 8080), HOST (default 127.0.0.1)
 *   DATABASE_URL, or LICHEN_DB_PROFILE=<name> with LICHEN_DB_PROFILE_<NAME>=postgres://…
 *   LICHEN_ADMIN_TOKEN (required), INSTANCE_ID (default <hostname>-<pid>)
 *   LICHEN_TARGET (default memory_records), LICHEN_TABLE (default: the target)
 *   LICHEN_HEARTBEAT_MS (default 2000), LICHEN_LEASE_MS (default 8000): heartbeat interval and
 *   self-fencing lease; the lease must stay shorter than the orchestrator's TTL (10 s)
 *   PERSISTENCE, DUAL_WRITE_PRIMARY, DUAL_WRITE_FAIL_FAST, DUAL_WRITE_ENABLED: boot defaults
 * Prints one JSON line {"event":"listening",url,instanceId,pid} on stdout when ready; logs go
 * to stderr. SIGTERM/SIGINT: stop accepting, finish in-flight requests, leave the control plane.
 */
async function main(): Promise<void> {
  const env = process.env;
  const instanceId = env.INSTANCE_ID || `${os.hostname()}-${process.pid}`;
  const log = jsonLogger({ instanceId });
  const fail = (msg: string): never => {
    log.error(msg);
    process.exit(2);
  };
  const adminToken = env.LICHEN_ADMIN_TOKEN ?? fail('LICHEN_ADMIN_TOKEN is required (the admin API bearer token)');
  const port = env.PORT === undefined ? 8080 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT=${JSON.stringify(env.PORT)} must be an integer from 0 to 65535`);
  const millis = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 50 || v > 600_000) fail(`${name}=${JSON.stringify(raw)} must be an integer number of milliseconds from 50 to 600000`);
    return v;
  };
  const heartbeatMs = millis('LICHEN_HEARTBEAT_MS');
  const leaseMs = millis('LICHEN_LEASE_MS');
  let bootMode;
  try {
    bootMode = bootModeFromEnv(env);
  } catch (err) {
    fail((err as Error).message);
  }
  const profiles = createProfileResolver({}, env);
  let databaseUrl = '';
  try {
    databaseUrl = profiles.url(env.LICHEN_DB_PROFILE || 'default');
  } catch (err) {
    fail((err as Error).message);
  }
  const service = await createMemoryService({
    instanceId,
    databaseUrl,
    adminToken,
    port,
    host: env.HOST || '127.0.0.1',
    target: env.LICHEN_TARGET || DEFAULT_TARGET,
    table: env.LICHEN_TABLE || undefined,
    bootMode,
    heartbeatMs,
    leaseMs,
    logger: log,
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    service.stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error('shutdown failed', { error: err.message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Only now: whoever waits for this line may signal at once (the write can hand the CPU to the
  // reader before the next statement runs), and a SIGTERM must find its handler.
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: service.url, instanceId, pid: process.pid })}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'memory-layer service failed to start', error: err.message })}\n`);
  process.exit(1);
});
