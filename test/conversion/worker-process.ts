/**
 * A worker in its own process, so a test can SIGKILL it mid-activity. Configured by env:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TASK_QUEUE, DB_URL, BUNDLE_PATH. Prints "worker-ready".
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createProfileResolver } from '../../src/config/profiles';
import { createConversionActivities } from '../../activities/conversion';

async function main(): Promise<void> {
  const env = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is required`);
    return v;
  };
  const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
  const profiles = createProfileResolver({ default: env('DB_URL') });
  const worker = await Worker.create({
    connection,
    namespace: env('TEMPORAL_NAMESPACE'),
    taskQueue: env('TASK_QUEUE'),
    workflowBundle: { codePath: env('BUNDLE_PATH') },
    activities: createConversionActivities({ profiles }),
    // Short sticky timeout: after a kill, the next worker gets the workflow task quickly.
    stickyQueueScheduleToStartTimeout: '1 second',
  });
  process.stdout.write('worker-ready\n');
  const stop = () => worker.shutdown();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await worker.run();
  await profiles.close();
  await connection.close();
}

main().catch((err) => {
  process.stderr.write(`worker failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
