import { describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { expectNothingLost, QUICK_RUN, useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { waitForStatus } from '../helpers/status';
import type { ProductionCutoverResult } from '../../workflows/production';
import { approveUpdate } from '../../workflows/messages';
import { getControl } from '../../src/memory-layer/control-plane';
import { dualWriteFailures, failWrites } from '../helpers/write-faults';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 1300, months: 3 });

describe('productionCutover reconciles before the first switch of the primary', () => {
  it('repairs Postgres from memory when it refused writes while the switch-primary gate was open, and loses nothing at the final cutover', async () => {
    const taskQueue = temporal.taskQueue('prod-reconcile');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const load = env.startLoad(150);
    const run = w.runUntil((async () => {
      // Latency is not what this test is about: a busy machine must not roll the switch back.
      const input = { ...QUICK_RUN, health: { maxLatencyRatio: 50, latencyFloorMs: 100 }, approvals: { beforeSwitchPrimary: true, beforeFinalCutover: true } };
      const handle = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId: `prod-reconcile-${taskQueue}`, args: [input] });
      const gate = await waitForStatus(handle, (s) => s.state === 'waiting-for-approval', 120_000);
      expect(gate.waitingOn).toMatch(/switch-primary/);
      expect((await getControl(env.db.pool, 'memory_records'))?.mode).toMatchObject({ persistence: 'dual-write', primary: 'memory' });
      // 15 s in which Postgres refuses every write to this month: memory (primary) acknowledges
      // them, the instances count dual-write failures, Postgres falls behind after its verify.
      const before = await dualWriteFailures(env.apps);
      const fault = await failWrites(env.db.pool);
      await new Promise((r) => setTimeout(r, 15_000));
      await fault.undo();
      expect(await dualWriteFailures(env.apps)).toBeGreaterThan(before);
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'alice', reason: 'the disk has room again', gate: 'switch-primary' }] });
      const final = await waitForStatus(handle, (s) => s.state === 'waiting-for-approval' && /final-cutover/.test(s.waitingOn ?? ''), 180_000);
      expect(final.notes.join('\n')).toMatch(/switch: \d+ dual-write failure\(s\) since the last verify; verifying and repairing Postgres from memory before switching the primary/);
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'alice', reason: 'healthy through the window', gate: 'final-cutover' }] });
      return (await handle.result()) as ProductionCutoverResult;
    })());
    const result = await run;
    const log = await load.stop();

    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
    expect(result.finalMode).toMatchObject({ persistence: 'postgres' });
    const phases = result.phases.map((p) => p.phase);
    const repair = phases.indexOf('verify and repair before switching the primary');
    expect(repair, phases.join(', ')).toBeGreaterThan(-1);
    expect(phases.indexOf('switch primary to postgres')).toBeGreaterThan(repair);
    expect(result.parity.reduce((a, p) => a + p.repaired, 0)).toBeGreaterThan(0);
    // Postgres was caught up before it became primary: no health check found records missing.
    expect(result.rollbacks, JSON.stringify(result.rollbacks)).toEqual([]);
    expectNothingLost(await env.oracleAgainstPostgres(log));
  });
});
