import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { createWorker } from './create-worker';
import { describeProfiles, describeTokenRefs, redactText } from './redact';
import { metricsTelemetry } from './telemetry';
import { makeCurrent, unversionedRoutingWarning, versioningFromEnv } from './versioning';
import { defaultTaskQueue } from '../client/start';
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
 * Worker Versioning: LICHEN_WORKER_VERSIONING, LICHEN_DEPLOYMENT_NAME, LICHEN_BUILD_ID,
 * LICHEN_SET_CURRENT_VERSION (./versioning.ts; on by default when run built from dist/).
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
  const versioning = versioningFromEnv(process.env, defaultTaskQueue());
  const w = await createWorker({ deployment: versioning.deployment, workerOptions: { shutdownGraceTime: `${Number.isFinite(grace) && grace >= 0 ? grace : 30}s` } });
  const profiles = describeProfiles(process.env);
  if (!versioning.deployment) {
    // An unversioned worker on a task queue whose deployment routes new runs to a version receives none: say so.
    const deploymentName = process.env.LICHEN_DEPLOYMENT_NAME?.trim() || w.taskQueue;
    await unversionedRoutingWarning(w.connection.workflowService, w.namespace, deploymentName).then(
      (warning) => warning && log('warn', warning, { deployment: deploymentName, taskQueue: w.taskQueue }),
      (err: unknown) => log('debug', 'could not read the worker deployment of the task queue', { deployment: deploymentName, error: err instanceof Error ? err.message : String(err) }),
    );
  }
  log('info', 'worker started', {
    temporal: w.describe,
    namespace: w.namespace,
    taskQueue: w.taskQueue,
    workflows: w.workflows,
    versioning: versioning.describe,
    dbProfiles: profiles,
    adminTokenRefs: describeTokenRefs(process.env),
    metrics: telemetryOptions ? `http://${process.env.LICHEN_METRICS_ADDRESS!.trim()}/metrics` : 'off',
    tracing: tracing ? 'otlp/http' : 'off',
  });
  if (profiles.length === 0) log('warn', 'no database profile configured: set DATABASE_URL or LICHEN_DB_PROFILE_<NAME>; activities will fail until one is');
  const stopped = new AbortController();
  const running = w.run().finally(() => stopped.abort());
  const d = versioning.deployment;
  if (d && versioning.setCurrent === 'if-none') {
    // A first deploy: no current version yet, so unversioned starts would find no worker. Make this one current.
    makeCurrent(w.connection.workflowService, w.namespace, d, { onlyIfNone: true, identity: `lichen-cutover-worker ${d.buildId}`, signal: stopped.signal }).then(
      (current) => log('info', current === d.buildId ? 'worker deployment version is current' : 'worker deployment version is not current: new runs go to the current one until an operator makes this one current', { deployment: d.deploymentName, buildId: d.buildId, current }),
      (err: unknown) => log('warn', 'could not check or set the current worker deployment version', { deployment: d.deploymentName, buildId: d.buildId, error: err instanceof Error ? err.message : String(err) }),
    );
  }
  try {
    await running;
  } finally {
    await tracing?.shutdown();
  }
  log('info', 'worker stopped');
}

main().catch((err: unknown) => {
  log('error', 'worker failed', { error: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
});
