import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createProfileResolver, type ProfileResolver } from '../config/profiles';
import { createSecretResolver, type SecretResolver } from '../config/secrets';
import { workflowSource } from './workflow-source';
import { deploymentOptions, type WorkerDeployment } from './versioning';
import { resolveTemporalConfig, type TemporalConnectOptions } from '../client/connect';
import { defaultTaskQueue } from '../client/start';
import { TemporalConnectionError } from '../client/errors';
import { cutoverMetricsInterceptor } from '../../activities/lib/metrics';
import { tracingPlugins } from '../telemetry/tracing';

export interface CreateWorkerOptions {
  /** An existing connection (tests, the demo); otherwise one is opened from envconfig. */
  connection?: NativeConnection;
  /** envconfig overrides when no connection is given. */
  temporal?: TemporalConnectOptions;
  /** Namespace (default: envconfig's, else "default"). */
  namespace?: string;
  /** Default: LICHEN_TASK_QUEUE or "lichen-cutover". */
  taskQueue?: string;
  /** A pre-built bundle (tests); otherwise dist/workflow-bundle.js when running compiled, else the source bundled at start (./workflow-source.ts). */
  workflowBundle?: { codePath: string };
  /** Worker Versioning: declare this deployment version, workflows pinned to it (./versioning.ts). Default: unversioned. */
  deployment?: WorkerDeployment;
  /** Injected resolvers; default: from the environment (LICHEN_DB_PROFILE_*, DATABASE_URL, LICHEN_ADMIN_TOKEN*). */
  profiles?: ProfileResolver;
  secrets?: SecretResolver;
  /** Extra Worker options (concurrency limits, identity, …). */
  workerOptions?: Partial<Omit<WorkerOptions, 'connection' | 'namespace' | 'taskQueue' | 'activities' | 'workflowsPath' | 'workflowBundle'>>;
}

export interface CutoverWorker {
  worker: Worker;
  connection: NativeConnection;
  /** The declared deployment version, when versioned. */
  deployment?: WorkerDeployment;
  taskQueue: string;
  namespace: string;
  /** Where it connected (no secrets). */
  describe: string;
  /** Where the workflow code came from: "prebuilt <path>" or "source <path> (bundled at start)". */
  workflows: string;
  profiles: ProfileResolver;
  /** Runs until shutdown (a signal, or worker.shutdown()), then releases pools and the connection. */
  run(): Promise<void>;
  /** Runs until `p` settles, then releases resources. */
  runUntil<T>(p: Promise<T>): Promise<T>;
}

/**
 * A worker with every workflow of workflows/index.ts and every activity of
 * `createActivities({profiles, secrets})`. Used by `npm run worker`, the demo and tests.
 */
export async function createWorker(opts: CreateWorkerOptions = {}): Promise<CutoverWorker> {
  const cfg = resolveTemporalConfig(opts.temporal);
  const ownConnection = !opts.connection;
  let connection = opts.connection;
  if (!connection) {
    try {
      connection = await NativeConnection.connect(cfg.connectionOptions);
    } catch (err) {
      throw new TemporalConnectionError(cfg.describe(), err);
    }
  }
  const namespace = opts.namespace ?? cfg.namespace;
  const taskQueue = opts.taskQueue ?? defaultTaskQueue();
  const profiles = opts.profiles ?? createProfileResolver();
  const secrets = opts.secrets ?? createSecretResolver();
  const source = workflowSource(opts.workflowBundle);
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      ...source.options,
      activities: createActivities({ profiles, secrets }),
      maxConcurrentActivityTaskExecutions: 20,
      // The cutover metrics (a no-op unless the runtime exports metrics: LICHEN_METRICS_ADDRESS).
      interceptors: { activity: [cutoverMetricsInterceptor] },
      // Traces (OTEL_EXPORTER_OTLP_ENDPOINT): activity and workflow interceptors, the span sink.
      plugins: tracingPlugins('lichen-cutover-worker'),
      // Eager dispatch hands every activity a workflow task schedules to the worker that ran that
      // task: the backfill's parallel lanes would all run on one worker of several. Off, the server's
      // matching spreads them over every worker polling the queue (test/chaos/two-workers.test.ts).
      maxEagerActivityReservationsPerWorkflowTask: 0,
      ...(opts.deployment ? deploymentOptions(opts.deployment) : {}),
      ...opts.workerOptions,
    });
  } catch (err) {
    if (ownConnection) await connection.close().catch(() => undefined);
    await profiles.close();
    throw err;
  }
  const release = async () => {
    await profiles.close();
    if (ownConnection) await connection!.close().catch(() => undefined);
  };
  return {
    worker,
    connection,
    deployment: opts.deployment,
    taskQueue,
    namespace,
    describe: `${opts.connection ? 'shared connection' : cfg.describe()} task queue ${taskQueue}`,
    workflows: source.describe,
    profiles,
    async run() {
      try {
        await worker.run();
      } finally {
        await release();
      }
    },
    async runUntil(p) {
      try {
        return await worker.runUntil(p);
      } finally {
        await release();
      }
    },
  };
}
