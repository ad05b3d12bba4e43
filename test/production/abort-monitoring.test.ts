import { describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { expectNothingLost, QUICK_RUN, useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { waitForStatus } from '../helpers/status';
import type { ProductionCutoverResult } from '../../workflows/production';
import { abortUpdate } from '../../workflows/messages';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 1200, months: 4 });

const base = QUICK_RUN;

describe('productionCutover rollback branches during monitoring', () => {
  it('aborts during monitoring: compensations run in reverse and the app ends in its starting mode with nothing lost', async () => {
    const taskQueue = temporal.taskQueue('prod-abort');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const load = env.startLoad(150);
    const result = await w.runUntil((async () => {
      const handle = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId: `prod-abort-${taskQueue}`, args: [{ ...base, monitoring: { windowMinutes: 5, healthCheckEveryMinutes: 0.1 } }] });
      await waitForStatus(handle, (s) => s.phase === 'monitoring');
      await handle.executeUpdate(abortUpdate, { args: [{ operator: 'bob', reason: 'change freeze announced' }] });
      return (await handle.result()) as ProductionCutoverResult;
    })());
    const log = await load.stop();
    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('aborted');
    expect(result.finalMode).toEqual({ persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: false });
    const comp = result.phases.map((p) => p.phase).filter((p) => p.startsWith('compensate'));
    expect(comp).toEqual(['compensate: revert to dual-write with memory primary', 'compensate: restore memory only']);
    expect(result.rollbacks[0]).toMatchObject({ branch: 'operator-abort', cause: 'aborted by bob: change freeze announced', endedInMode: 'memory only' });
    const runs = await env.db.pool.query(`SELECT status FROM cutover_runs`);
    expect(runs.rows.map((r) => r.status)).toEqual(['aborted']);
    // Memory is the primary again: every acknowledged write is there.
    const verdict = await env.oracleAgainstInstances(log);
    expectNothingLost(verdict);
  });
});
