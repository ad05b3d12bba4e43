import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { useTemporal } from '../helpers/temporal';
import { expectNothingLost, QUICK_RUN, useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker, type TestWorker } from '../helpers/worker';
import { bundleWithHeldHandOvers, updateAdmitted } from '../helpers/held-handover';
import { waitForStatus } from '../helpers/status';
import { fetchRunChain } from '../../src/audit/chain';
import { forgetInstanceUpdate, pauseUpdate, resumeUpdate, statusQuery, type AckResult } from '../../workflows/messages';
import type { ProductionCutoverInput } from '../../workflows/production-input';
import type { ProductionCutoverResult } from '../../workflows/production';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 800, months: 2 });
const workers: { w: TestWorker; running: Promise<void> }[] = [];
let bundle: { codePath: string };

beforeAll(async () => {
  bundle = await bundleWithHeldHandOvers();
});
afterAll(async () => {
  for (const x of workers) x.w.worker.shutdown();
  for (const x of workers) {
    await x.running;
    await x.w.profiles.close();
  }
});

async function startWorkerOn(taskQueue: string): Promise<void> {
  const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken, workflowBundle: bundle });
  workers.push({ w, running: w.worker.run() });
}

async function heldOn(handle: WorkflowHandle, queue: string): Promise<string> {
  for (const end = Date.now() + 150_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    const d = await handle.describe();
    if (d.taskQueue === queue) return d.runId;
  }
  throw new Error(`no run held on ${queue}`);
}

const ana = (reason: string) => ({ operator: 'ana', reason });
const WINDOW = { windowMinutes: 1, healthCheckEveryMinutes: 0.05 }; // 20 checks, 3 s apart

/**
 * Issue 24 item 6: a pause takes effect before the next phase; the monitoring window is one
 * phase, so a pause sent during it lets it go on — its health checks and its clock — and the
 * run stops before the next phase. Across a hand-over the same (before: the new run waited
 * "paused before monitoring" with no checks while the window's clock ran on). With a 100-event
 * budget the window hands over (twice, each new run held so messages land in its first
 * activation: a second pause is refused — the carried one holds — and a forget is judged).
 */
describe('productionCutover: a pause carried across a monitoring hand-over', () => {
  it('the window keeps its checks and its clock while paused across hand-overs; the run pauses before the next phase; oracle at zero', async () => {
    const taskQueue = temporal.taskQueue('prod-pause-can');
    await startWorkerOn(taskQueue);
    const load = env.startLoad(60);
    const workflowId = `prod-pause-${taskQueue}`;
    const input: ProductionCutoverInput = { ...QUICK_RUN, monitoring: WINDOW, health: { maxLatencyRatio: 50, latencyFloorMs: 200 }, history: { maxEvents: 100 } };
    const h = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId, args: [input] });
    await waitForStatus(h, (s) => s.phase === 'monitoring', 150_000);
    const pausedAt = new Date().toISOString();
    await h.executeUpdate(pauseUpdate, { args: [ana('look at the dashboards first')] });

    // The next hand-over carries the pause: its run is held on ~h1 until the messages are queued.
    const run1 = await heldOn(h, `${taskQueue}~h1`);
    const pause2 = h.executeUpdate(pauseUpdate, { args: [ana('pause again')], updateId: 'pause-again' }).catch((e: Error) => e);
    const forget = h.executeUpdate(forgetInstanceUpdate, { args: [{ ...ana('gone'), instanceId: 'no-such-instance' }], updateId: 'forget-unknown' }).catch((e: Error) => e);
    await updateAdmitted(temporal.client, workflowId, 'pause-again');
    await updateAdmitted(temporal.client, workflowId, 'forget-unknown');
    await startWorkerOn(`${taskQueue}~h1`);
    const p2 = (await pause2) as AckResult | Error;
    expect(p2, 'the carried pause holds: a second one is refused').toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((p2 as WorkflowUpdateFailedError).cause as Error).message).toMatch(/already paused/);
    expect(await forget).toBeInstanceOf(WorkflowUpdateFailedError); // an instance the fleet never had

    // The run after it (still in the window, still paused) is held on ~h2; it goes on too.
    await heldOn(h, `${taskQueue}~h2`);
    await startWorkerOn(`${taskQueue}~h2`);

    // The window ran to its end while paused, then the run paused before its next phase.
    const paused = await waitForStatus(h, (s) => s.state === 'paused', 150_000);
    expect(paused.notes.at(-1)).toMatch(/^paused before (?!monitoring)/);
    const monitoring = paused.phases.filter((p) => p.phase === 'monitoring');
    expect(monitoring, JSON.stringify(paused.phases)).toHaveLength(1);
    expect(monitoring[0].outcome).toBe('ok');
    // Health checks ran in the run that started paused (the hand-over did not stop them).
    const held = await temporal.client.workflow.getHandle(workflowId, run1).fetchHistory();
    const checks = (held.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'healthCheck');
    expect(checks.length).toBeGreaterThan(0);

    await h.executeUpdate(resumeUpdate, { args: [ana('dashboards fine')] });
    const result = (await h.result()) as ProductionCutoverResult;
    const log = await load.stop();
    expect(result.outcome).toBe('completed');
    // The window's clock and checks as without a hand-over: every check, ended by the clock.
    expect(result.monitoring.endedBy).toBe('window elapsed');
    expect(result.monitoring.checks).toBe(WINDOW.windowMinutes / WINDOW.healthCheckEveryMinutes);
    const handOvers = result.history!.continuedAt.filter((c) => c.handedOverAt === 'switch' && c.at > pausedAt);
    expect(handOvers.length, 'handed over in the window after the pause').toBeGreaterThanOrEqual(2);
    expect((await fetchRunChain(temporal.client.workflow, workflowId)).length).toBe(result.history!.runs);
    expect(result.decisions.map((d) => `${d.action}: ${d.reason}`)).toEqual(['pause: look at the dashboards first', 'resume: dashboards fine']);
    expectNothingLost(await env.oracleAgainstPostgres(log));
    expect((await h.query(statusQuery)).state).toBe('completed');
  });
});
