import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, inject } from 'vitest';
import { createWorker } from '../../src/worker/create-worker';
import { createProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';
import { currentBuildId, makeCurrent } from '../../src/worker/versioning';
import { resolveTemporalCli } from '../../src/devenv/temporal-cli';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { startWorkerMain, type WorkerMain } from '../helpers/worker-main';

const db = useTestDatabase();
const temporal = useTemporal();
let unversioned: WorkerMain | undefined;
afterAll(async () => {
  await unversioned?.stop();
});

/**
 * Once a versioned build of a task queue's deployment has been made current (a clone's `bin/cutover-worker`
 * after `npm run build` does it by default on a dev server with no current version), Temporal routes every
 * new run to that version: an unversioned worker (`npm run worker`, the demo's) receives none. It must not
 * sit idle silently: its start-up says so, naming the version and the official CLI command that routes
 * new runs back to unversioned workers — and that command works.
 */
describe('an unversioned worker on a task queue whose deployment has a current version', () => {
  it('says at start-up that new runs go to the current version and how to route them to unversioned workers; after that command a new run completes on it, and a versioned worker started with if-none leaves the operator\'s choice of unversioned', async () => {
    const taskQueue = temporal.taskQueue('unversioned');
    const built = await createWorker({
      connection: temporal.nativeConnection, namespace: temporal.namespace, taskQueue, workflowBundle: temporal.workflowBundle,
      deployment: { deploymentName: taskQueue, buildId: 'build-a' },
      profiles: createProfileResolver({ default: db.url }), secrets: createSecretResolver({}),
    });
    const done = built.run();
    expect(await makeCurrent(temporal.client.workflowService, temporal.namespace, { deploymentName: taskQueue, buildId: 'build-a' })).toBe('build-a');
    built.worker.shutdown();
    await done;

    // `npm run worker` (src/worker/main.ts through tsx: unversioned by default).
    unversioned = await startWorkerMain({ LICHEN_TASK_QUEUE: taskQueue, DATABASE_URL: db.url, LICHEN_LOG_LEVEL: 'WARN' });
    const warning = unversioned.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; message: string }).find((l) => l.level === 'warn' && /unversioned/.test(l.message));
    expect(warning?.message).toContain(`worker deployment ${taskQueue} has current version build-a: new runs go to that version's workers, none to this one`);
    expect(warning?.message).toContain(`temporal worker deployment set-current-version --deployment-name ${taskQueue} --unversioned`);

    // The command it names, through the official temporal CLI, routes new runs to this worker.
    const cli = await resolveTemporalCli();
    await promisify(execFile)(cli.path, ['worker', 'deployment', 'set-current-version', '--address', inject('temporalAddress'), '--namespace', temporal.namespace,
      '--deployment-name', taskQueue, '--unversioned', '--yes'], { timeout: 60_000 });
    const smoke = await temporal.client.workflow.start('smokeWorkflow', { taskQueue, workflowId: `smoke-${taskQueue}`, args: [{ connectionProfile: 'default' }] });
    expect((await smoke.result()).database).toBe(db.name);

    // That choice is the operator's: a versioned worker (re)started with the default
    // LICHEN_SET_CURRENT_VERSION=if-none leaves it, as it leaves another current build.
    const again = await createWorker({
      connection: temporal.nativeConnection, namespace: temporal.namespace, taskQueue, workflowBundle: temporal.workflowBundle,
      deployment: { deploymentName: taskQueue, buildId: 'build-b' },
      profiles: createProfileResolver({ default: db.url }), secrets: createSecretResolver({}),
    });
    const againDone = again.run();
    try {
      expect(await makeCurrent(temporal.client.workflowService, temporal.namespace, { deploymentName: taskQueue, buildId: 'build-b' }, { onlyIfNone: true, timeoutMs: 60_000 })).toBe('unversioned');
      expect((await currentBuildId(temporal.client.workflowService, temporal.namespace, taskQueue)).buildId).toBeUndefined();
    } finally {
      again.worker.shutdown();
      await againDone;
    }
    expect(await unversioned.stop()).toBe(0);
    unversioned = undefined;
  }, 300_000);
});
