import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { createWorker } from './create-worker';
import { describeProfiles, describeTokenRefs, redactText } from './redact';
import { metricsTelemetry } from './telemetry';
import { startTracing } from '../telemetry/tracing';

/**
 * `npm run worker`: the lichen-cutover worker.
 *
 * Temporal: @temporalio/envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TEMPORAL_TLS*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE). Task queue: LICHEN_TASK_QUEUE
 * (default lichen-cutover). Databases: LICHEN_DB_PROFILE_<NAME> / DATABASE_URL. Admin tokens:
 * LICHEN_ADMIN_TOKEN_<REF> / LICHEN_ADMIN_TOKEN. Log level: LICHEN_LOG_LEVEL (default INFO).
 *
 * SIGINT / SIGTERM: the worker stops polling, lets running activities finish (up to
 * LICHEN_SHUTDOWN_GRACE_SECONDS, default 30) and exits 0. Logs are JSON lines on stderr with
 * credentials redacted.
 *
 * Observability: LICHEN_METRICS_ADDRESS (host:port) serves Prometheus metrics on /metrics (the
 * SDK's worker metrics and the cutover's); OTEL_EXPORTER_OTLP_ENDPOINT exports traces over
 * OTLP/HTTP (src/telemetry/tracing.ts).
 */
function log(level: string, message: string, meta: Record<string, unknown> = {}): void {
  process.stderr.write(redactText(JSON.stringify({ ts: new Date().toISOString(), level, message, ...meta })) + '\n');
}

async function main(): Promise<void> {
  const level = (process.env.LICHEN_LOG_LEVEL ?? 'INFO').toUpperCase() as LogLevel;
  const telemetryOptions = metricsTelemetry(process.env);
  const tracing = startTracing('lichen-cutover-worker');
  Runtime.install({
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    ...(telemetryOptions ? { telemetryOptions } : {}),
    logger: new DefaultLogger(level, (entry) => log(entry.level.toLowerCase(), entry.message, entry.meta ?? {})),
  });
  const grace = Number(process.env.LICHEN_SHUTDOWN_GRACE_SECONDS ?? 30);
  const w = await createWorker({ workerOptions: { shutdownGraceTime: `${Number.isFinite(grace) && grace >= 0 ? grace : 30}s` } });
  const profiles = describeProfiles(process.env);
  log('info', 'worker started', {
    temporal: w.describe,
    namespace: w.namespace,
    taskQueue: w.taskQueue,
    workflows: w.workflows,
    dbProfiles: profiles,
    adminTokenRefs: describeTokenRefs(process.env),
    metrics: telemetryOptions ? `http://${process.env.LICHEN_METRICS_ADDRESS!.trim()}/metrics` : 'off',
    tracing: tracing ? 'otlp/http' : 'off',
  });
  if (profiles.length === 0) log('warn', 'no database profile configured: set DATABASE_URL or LICHEN_DB_PROFILE_<NAME>; activities will fail until one is');
  try {
    await w.run();
  } finally {
    await tracing?.shutdown();
  }
  log('info', 'worker stopped');
}

main().catch((err: unknown) => {
  log('error', 'worker failed', { error: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
});
