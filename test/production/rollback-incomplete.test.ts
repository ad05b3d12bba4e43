import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { useTemporal } from '../helpers/temporal';
import { expectNothingLost, QUICK_RUN, useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { waitForStatus } from '../helpers/status';
import { abortUpdate, statusQuery } from '../../workflows/messages';
import { ROLLBACK_INCOMPLETE } from '../../workflows/common/saga';
import { getControl } from '../../src/memory-layer/control-plane';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 600, months: 3 });

describe('productionCutover when an undo itself fails', () => {
  it('records the failing compensation with what to do by hand, still runs the rest, and fails RollbackIncomplete', async () => {
    // Fault: Postgres refuses to move the primary back to memory while dual-write is on.
    await env.db.pool.query(`
      CREATE FUNCTION refuse_revert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused by the test: no revert to memory primary'; END $$;
      CREATE TRIGGER refuse_revert BEFORE UPDATE ON cutover_control FOR EACH ROW
        WHEN (OLD.dual_write_primary = 'postgres' AND NEW.persistence = 'dual-write' AND NEW.dual_write_primary = 'memory')
        EXECUTE FUNCTION refuse_revert();`);
    const taskQueue = temporal.taskQueue('prod-undo-fails');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const load = env.startLoad(100);
    const { failure, status } = await w.runUntil((async () => {
      const handle = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId: `prod-undo-fails-${taskQueue}`, args: [{ ...QUICK_RUN, monitoring: { windowMinutes: 5, healthCheckEveryMinutes: 0.1 } }] });
      await waitForStatus(handle, (s) => s.phase === 'monitoring');
      await handle.executeUpdate(abortUpdate, { args: [{ operator: 'carol', reason: 'undo must be tried in full' }] });
      const err = await handle.result().then(() => undefined, (e: unknown) => e);
      return { failure: err, status: await handle.query(statusQuery) };
    })());
    const log = await load.stop();
    await env.db.pool.query('DROP TRIGGER refuse_revert ON cutover_control; DROP FUNCTION refuse_revert()');

    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(ROLLBACK_INCOMPLETE);
    expect(cause.message).toMatch(/revert to dual-write with memory primary failed .*refused by the test.*by hand: set the control row/);
    expect(status.state).toBe('failed');
    expect(status.compensationFailures).toEqual([
      expect.objectContaining({ name: 'revert to dual-write with memory primary', why: expect.stringMatching(/refused by the test/), byHand: expect.stringMatching(/dual-write with memory primary/) }),
    ]);
    // The rest still ran: the earlier step's undo restored the starting mode.
    const comp = status.phases.filter((p) => p.phase.startsWith('compensate'));
    expect(comp.map((p) => [p.phase, p.outcome?.slice(0, 6)])).toEqual([
      ['compensate: revert to dual-write with memory primary', 'failed'],
      ['compensate: restore memory only', 'ok'],
    ]);
    expect((await getControl(env.db.pool, 'memory_records'))?.mode.persistence).toBe('memory');
    const runs = await env.db.pool.query(`SELECT status FROM cutover_runs`);
    expect(runs.rows.map((r) => r.status)).toEqual(['failed']);
    expectNothingLost(await env.oracleAgainstInstances(log));
  });
});
