import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { useCutoverEnv } from '../helpers/cutover-env';
import { createWorker, type CutoverWorker } from '../../src/worker/create-worker';
import { createProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';
import { waitForStatus } from '../audit/scenarios';
import { runCli } from './run-cli';
import type { ProductionCutoverInput } from '../../workflows/production-input';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 200, months: 2 });

let worker: CutoverWorker;
let running: Promise<void>;
let taskQueue: string;
let dir: string;
let inputFile: string;
const workflowId = `cli-prod-${process.pid}-${Date.now().toString(36)}`;
const cliEnv = () => ({ TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: inject('temporalNamespace') });

beforeAll(async () => {
  taskQueue = temporal.taskQueue('cli');
  // The worker the `npm run worker` process runs, here in the test process on its own task queue.
  worker = await createWorker({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace,
    taskQueue,
    workflowBundle: temporal.workflowBundle,
    profiles: createProfileResolver({ default: env.db.url }),
    secrets: createSecretResolver({ default: env.apps.adminToken }),
  });
  running = worker.run();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-cli-wf-'));
  inputFile = path.join(dir, 'input.json');
  const input: ProductionCutoverInput = {
    nonProduction: true,
    monitoring: { windowMinutes: 0.2, healthCheckEveryMinutes: 0.1 },
    approvals: { beforeBackfill: true, beforeSwitchPrimary: false, beforeFinalCutover: false },
    backfill: { batchSize: 100, chunkRows: 200 },
  };
  fs.writeFileSync(inputFile, JSON.stringify(input));
});

afterAll(async () => {
  worker?.worker.shutdown();
  await running;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('cutover CLI against a real run', () => {
  it('starts, shows status, validates operator actions, refuses a second start, aborts and audits', async () => {
    const started = await runCli(['start', 'production', '--input', inputFile, '--task-queue', taskQueue, '--workflow-id', workflowId, '--json'], cliEnv());
    expect(started.code, started.stderr).toBe(0);
    expect(started.json()).toMatchObject({ workflowId, kind: 'production', taskQueue });

    await waitForStatus(temporal.client, workflowId, (s) => s.state === 'waiting-for-approval');
    const st = await runCli(['status', workflowId, '--json'], cliEnv());
    expect(st.code).toBe(0);
    expect(st.json()).toMatchObject({ workflowId, execution: 'RUNNING', status: { state: 'waiting-for-approval', waitingOn: expect.stringContaining('"backfill"') } });

    const noReason = await runCli(['approve', workflowId, '--operator', 'dana'], cliEnv());
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason is required');

    // The update validator refuses an extension outside a window: exit 4 with its message.
    const extend = await runCli(['extend', workflowId, '--operator', 'dana', '--reason', 'longer window', '--minutes', '30'], cliEnv());
    expect(extend.code).toBe(4);
    expect(extend.stderr).toContain('no window is open to extend');

    const second = await runCli(['start', 'production', '--input', inputFile, '--task-queue', taskQueue, '--workflow-id', workflowId], cliEnv());
    expect(second.code).toBe(4);
    expect(second.stderr).toContain(`a production cutover for memory_records is already running: ${workflowId}`);

    const abort = await runCli(['abort', workflowId, '--operator', 'dana', '--reason', 'wrong maintenance window', '--json'], cliEnv());
    expect(abort.code, abort.stderr).toBe(0);
    expect(abort.json()).toMatchObject({ accepted: true, action: 'abort' });

    const result = (await temporal.client.workflow.getHandle(workflowId).result()) as { outcome: string };
    expect(result.outcome).toBe('aborted');

    const after = await runCli(['status', workflowId, '--json'], cliEnv());
    expect(after.code).toBe(1); // the run ended, but not as intended
    expect(after.json()).toMatchObject({ execution: 'COMPLETED', result: { outcome: 'aborted', rollbacks: [expect.objectContaining({ branch: 'operator-abort' })] } });

    const audit = await runCli(['audit', workflowId], cliEnv());
    expect(audit.code).toBe(0);
    expect(audit.stdout).toContain('operator-abort');
    expect(audit.stdout).toMatch(/\| abort \| dana \| wrong maintenance window \|/);

    const watch = await runCli(['watch', workflowId], cliEnv());
    expect(watch.code).toBe(1);
    expect(watch.stdout).toContain('outcome: aborted');
  });

  it('creates, then updates, the maintenance Schedule', async () => {
    const id = `cli-schedule-${Date.now().toString(36)}`;
    try {
      const created = await runCli(['schedule', '--id', id, '--every', '1 day', '--retention-months', '12', '--task-queue', taskQueue, '--paused', '--json'], cliEnv());
      expect(created.code, created.stderr).toBe(0);
      expect(created.json()).toMatchObject({ scheduleId: id, outcome: 'created', input: { retentionMonths: 12 } });
      const updated = await runCli(['schedule', '--id', id, '--cron', '0 3 1 * *', '--task-queue', taskQueue, '--json'], cliEnv());
      expect(updated.json()).toMatchObject({ outcome: 'updated' });
      const d = await temporal.client.schedule.getHandle(id).describe();
      expect(d.spec.calendars?.length).toBe(1); // the cron expression, as the server stores it
      const both = await runCli(['schedule', '--id', id, '--cron', '0 3 1 * *', '--every', '1 day'], cliEnv());
      expect(both.code).toBe(2);
    } finally {
      await temporal.client.schedule.getHandle(id).delete().catch(() => undefined);
    }
  });

  it('exits 3 for an unknown workflow and registers search attributes idempotently', async () => {
    const missing = await runCli(['status', 'no-such-workflow', '--json'], cliEnv());
    expect(missing.code).toBe(3);
    expect(missing.json<{ error: { message: string } }>().error.message).toContain('no-such-workflow not found');
    const setup = await runCli(['setup', '--json'], cliEnv());
    expect(setup.code, setup.stderr).toBe(0);
    expect(setup.json()).toMatchObject({ added: [], conflicts: [], alreadyPresent: expect.arrayContaining(['CutoverPhase', 'CutoverTarget', 'CutoverKind', 'CutoverState']) });
  });
});
