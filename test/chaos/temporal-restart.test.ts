import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { useCutoverEnv } from '../helpers/cutover-env';
import { waitForStatus } from '../helpers/status';
import { getControl } from '../../src/memory-layer/control-plane';
import { chaos, killAllWorkers, registerSecret, lostRecords, scenario, sleep, spawnChaosWorker } from './lib';
import { chaosCutoverInput, resultAcrossRestarts } from './production-run';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 3000, months: 5 });
afterAll(killAllWorkers);
beforeAll(() => registerSecret(`admin token (${__filename})`, env.apps.adminToken));

describe('the Temporal server SIGKILLed and restarted on its persistence file', () => {
  it('mid-backfill and mid-monitoring: the run completes, nothing lost', async () => {
    await scenario('Temporal server killed mid-backfill and mid-monitoring', async () => {
      const taskQueue = temporal.taskQueue('chaos-temporal');
      const worker = await spawnChaosWorker({ taskQueue, dbUrl: env.db.url, adminToken: env.apps.adminToken, label: 'temporal-restart' });
      const load = env.startLoad(120);
      const handle = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId: `chaos-temporal-${taskQueue}`, args: [chaosCutoverInput(0.5)] });

      await waitForStatus(handle, (s) => s.phase === 'backfill' && (s.progress?.done ?? 0) > 0, 90_000);
      await sleep(1500);
      const downMs1 = await chaos('temporal-restart');
      const afterRestart = await waitForStatus(handle, (s) => s.phase !== 'backfill' || (s.progress?.done ?? 0) > 0, 60_000);
      expect(afterRestart.state).not.toBe('failed');

      await waitForStatus(handle, (s) => s.phase === 'monitoring', 120_000);
      await sleep(5000);
      const downMs2 = await chaos('temporal-restart');

      const result = await resultAcrossRestarts(handle, 150_000);
      const log = await load.stop();
      expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
      expect(result.finalMode.persistence).toBe('postgres');
      expect((await getControl(env.db.pool, 'memory_records'))?.mode.persistence).toBe('postgres');
      // The worker process rode out both restarts (its connection reconnected).
      expect(worker.child.exitCode).toBeNull();
      expect(result.monitoring.checks).toBeGreaterThanOrEqual(2);
      const verdict = await env.oracleAgainstPostgres(log);
      expect(verdict.checked).toBeGreaterThan(3000);
      expect({ missing: verdict.missing, stale: verdict.stale, resurrected: verdict.resurrected }).toEqual({ missing: 0, stale: 0, resurrected: 0 });
      return { dataLost: lostRecords(verdict), detail: `restarts took ${downMs1} and ${downMs2} ms` };
    });
  });
});
