import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createProfileResolver, type ProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';
import type { TestTemporal } from './temporal';

export interface TestWorker {
  worker: Worker;
  profiles: ProfileResolver;
  /** Runs the worker until `p` settles, then closes the activities' pools. */
  runUntil<T>(p: Promise<T>): Promise<T>;
}

/** An in-process worker on `taskQueue` with the real activities, resolving profile "default" to `dbUrl`. */
export async function createTestWorker(temporal: TestTemporal, taskQueue: string, opts: { dbUrl: string; adminToken?: string; workflowBundle?: { codePath: string } }): Promise<TestWorker> {
  const profiles = createProfileResolver({ default: opts.dbUrl });
  const secrets = createSecretResolver(opts.adminToken ? { default: opts.adminToken } : {});
  const worker = await Worker.create({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace,
    taskQueue,
    workflowBundle: opts.workflowBundle ?? temporal.workflowBundle,
    activities: createActivities({ profiles, secrets }),
    maxConcurrentActivityTaskExecutions: 20,
    // Flush heartbeat checkpoints promptly so a crashed attempt's successor resumes close to where it stopped.
    maxHeartbeatThrottleInterval: '1 second',
  });
  return {
    worker,
    profiles,
    async runUntil(p) {
      try {
        return await worker.runUntil(p);
      } finally {
        await profiles.close();
      }
    },
  };
}
