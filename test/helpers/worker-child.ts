/**
 * A worker in its own process, for tests that kill it with SIGKILL. Configured by environment:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TASK_QUEUE, WORKFLOW_BUNDLE, TEST_DB_URL, TEST_ADMIN_TOKEN.
 * Prints "worker-ready" once polling.
 */
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = process.env;
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS! });
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.TASK_QUEUE!,
    workflowBundle: { codePath: env.WORKFLOW_BUNDLE! },
    activities: createActivities({
      profiles: createProfileResolver({ default: env.TEST_DB_URL! }),
      secrets: createSecretResolver({ default: env.TEST_ADMIN_TOKEN! }),
    }),
    maxHeartbeatThrottleInterval: '1 second',
  });
  const running = worker.run();
  process.stdout.write('worker-ready\n');
  await running;
}

main().catch((err) => {
  process.stderr.write(`worker-child: ${(err as Error).stack}\n`);
  process.exit(1);
});
