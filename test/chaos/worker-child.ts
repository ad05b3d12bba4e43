/**
 * The chaos suite's worker process: every activity, credentials from the environment the way a
 * production worker gets them (LICHEN_DB_PROFILE_DEFAULT, LICHEN_ADMIN_TOKEN), INFO logs to
 * stderr (captured and scanned for secrets). Env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TASK_QUEUE, WORKFLOW_BUNDLE. Prints "worker-ready" once polling.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('INFO') });
  const env = process.env;
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS! });
  const profiles = createProfileResolver({}, env);
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.TASK_QUEUE!,
    workflowBundle: { codePath: env.WORKFLOW_BUNDLE! },
    activities: createActivities({ profiles, secrets: createSecretResolver({}, env) }),
    maxHeartbeatThrottleInterval: '1 second',
    // Eager dispatch hands every activity a workflow task schedules to the worker that ran that
    // task: the backfill's parallel lanes would all run on one worker of several. Off, the server's
    // matching spreads them over every worker polling the queue (test/chaos/two-workers.test.ts).
    maxEagerActivityReservationsPerWorkflowTask: 0,
    // After a SIGKILL the next worker gets the workflow task within a second, not ten.
    stickyQueueScheduleToStartTimeout: '1 second',
  });
  const running = worker.run();
  process.stdout.write('worker-ready\n');
  const stop = () => worker.shutdown();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await running;
  await profiles.close();
  await connection.close();
}

main().catch((err) => {
  process.stderr.write(`chaos worker failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
