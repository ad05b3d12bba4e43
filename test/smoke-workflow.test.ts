import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { createProfileResolver } from '../src/config/profiles';
import { createSmokeActivities } from '../activities/smoke';
import { useTestDatabase } from './helpers/db';
import { useTemporal } from './helpers/temporal';
import { expectRefusedNamingContinued, startWithTemporalCli } from './helpers/continued-start';

const db = useTestDatabase();
const temporal = useTemporal();

describe('smoke workflow on the real dev server', () => {
  it('runs an activity that queries the real Postgres through a named profile', async () => {
    const profiles = createProfileResolver({ smoke: db.url });
    const taskQueue = temporal.taskQueue('smoke');
    const worker = await Worker.create({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace,
      taskQueue,
      workflowBundle: temporal.workflowBundle,
      activities: createSmokeActivities({ profiles }),
    });
    const result = await worker.runUntil(
      temporal.client.workflow.execute('smokeWorkflow', {
        taskQueue,
        workflowId: `smoke-${taskQueue}`,
        args: [{ connectionProfile: 'smoke' }],
      }),
    );
    await profiles.close();
    expect(result.database).toBe(db.name);
    expect(Number.parseInt(result.serverVersion, 10)).toBeGreaterThanOrEqual(14);
  });

  it('a start through the temporal CLI carrying continued (the smoke workflow never continues as new) fails naming continued and runs no activity (issue 24 item 1: every workflow type)', async () => {
    const profiles = createProfileResolver({ default: db.url });
    const taskQueue = temporal.taskQueue('smoke-continued');
    const worker = await Worker.create({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace,
      taskQueue,
      workflowBundle: temporal.workflowBundle,
      activities: createSmokeActivities({ profiles }),
    });
    const workflowId = `smoke-continued-${taskQueue}`;
    const message = await worker.runUntil(async () => {
      await startWithTemporalCli(temporal, { type: 'smokeWorkflow', taskQueue, workflowId, input: { connectionProfile: 'default', continued: { chain: { previous: [{ runId: 'r1' }] }, ctl: {} } } });
      return expectRefusedNamingContinued(temporal.client, workflowId);
    });
    await profiles.close();
    expect(message).toMatch(/continued: this run was started, not continued from a previous run/);
  });
});
