import { describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { expectNothingLost, QUICK_RUN, useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { waitForStatus } from '../helpers/status';
import type { ProductionCutoverResult } from '../../workflows/production';
import { approveUpdate, resumeUpdate } from '../../workflows/messages';
import { getControl } from '../../src/memory-layer/control-plane';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 1200, months: 4 });

const base = QUICK_RUN;

/**
 * Fault: every write to this month's partition (where the load writes) takes 400 ms longer
 * until `undo()`; write p99 soars for as long as it lasts.
 */
async function slowWrites(): Promise<{ undo(): Promise<void> }> {
  const part = (await env.db.pool.query(`SELECT 'memory_records_' || to_char(now(), 'YYYY_MM') AS p`)).rows[0].p as string;
  await env.db.pool.query(`
    CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.4); RETURN NEW; END $$;
    CREATE TRIGGER slow_down BEFORE INSERT OR UPDATE ON ${part} FOR EACH ROW EXECUTE FUNCTION slow_down();`);
  return { undo: async () => void (await env.db.pool.query(`DROP TRIGGER slow_down ON ${part}; DROP FUNCTION slow_down()`)) };
}

describe('productionCutover rollback branches during monitoring', () => {
  it('reverts to dual-write with memory primary when write latency rises, investigates, and switches again on the operator\'s retry', async () => {
    const taskQueue = temporal.taskQueue('prod-issues');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const load = env.startLoad(150);
    const run = w.runUntil((async () => {
      // A window long enough for the fault to be seen on two consecutive checks however busy
      // the machine is; the second window is ended early by an approval.
      const input = { ...base, monitoring: { windowMinutes: 3, healthCheckEveryMinutes: 0.05 } };
      const handle = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId: `prod-issues-${taskQueue}`, args: [input] });
      await waitForStatus(handle, (s) => s.phase === 'monitoring');
      const fault = await slowWrites();
      const waiting = await waitForStatus(handle, (s) => s.state === 'waiting-for-operator');
      expect(waiting.waitingOn).toMatch(/cutover issues during monitoring/);
      expect(waiting.waitingOn).toMatch(/write p99/);
      await fault.undo();
      const mode = await getControl(env.db.pool, 'memory_records');
      expect(mode?.mode).toMatchObject({ persistence: 'dual-write', primary: 'memory' });
      await handle.executeUpdate(resumeUpdate, { args: [{ operator: 'alice', reason: 'the slow trigger was removed', decision: 'retry' }] });
      await waitForStatus(handle, (s) => s.phase === 'monitoring' && s.state === 'running');
      await new Promise((r) => setTimeout(r, 5000)); // a few healthy checks
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'alice', reason: 'healthy again after the retry', gate: 'end-monitoring' }] });
      return (await handle.result()) as ProductionCutoverResult;
    })());
    const result = await run;
    const log = await load.stop();

    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
    expect(result.rollbacks.map((r) => r.branch)).toEqual(['cutover-issues']);
    expect(result.monitoring.endedBy).toBe('approval by alice');
    expect(result.rollbacks[0].endedInMode).toBe('dual-write, memory primary');
    expect(result.investigations).toHaveLength(1);
    expect(result.investigations[0].map((f) => f.check)).toContain('partition for the current date');
    expect(result.decisions).toContainEqual(expect.objectContaining({ action: 'resume', operator: 'alice', detail: 'retry' }));
    const phases = result.phases.map((p) => p.phase);
    expect(phases.filter((p) => p === 'switch primary to postgres')).toHaveLength(2);
    expect(phases).toContain('investigate');
    const verdict = await env.oracleAgainstPostgres(log);
    expectNothingLost(verdict);
  });
});
