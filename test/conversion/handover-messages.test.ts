import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { abortUpdate, approveSignal, approveUpdate, extendUpdate, pauseUpdate, resumeUpdate, statusQuery, type AckResult } from '../../workflows/messages';
import type { ConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { bundleWithHeldHandOvers, updateAdmitted } from '../helpers/held-handover';
import { plantOldTableDrift } from '../audit/conversion-scenarios';
import { checkOracle, seedHeap, SqlWriter, startWorker, waitFor } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
type Env = Awaited<ReturnType<typeof startWorker>>;
const workers: Env[] = [];
let bundle: { codePath: string };
let taskQueue: string;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('conversion-held');
  bundle = await bundleWithHeldHandOvers();
  workers.push(await startWorker(temporal, db.url, taskQueue, bundle));
  await seedHeap(db.pool, 1500, 3);
});
afterAll(async () => {
  for (const w of workers) w.worker.shutdown();
  for (const w of workers) {
    await w.running;
    await w.profiles.close();
  }
});

const ana = (reason: string) => ({ operator: 'ana', reason });
const NAMING = { ...ana('the drift in memory_records_old is a planted row: drop it'), gate: 'drop-old-table' };
const NOT_NAMING = { ...ana('looks fine to me'), gate: 'drop-old-table' };

/** Sends `send` as update `id` without waiting for a worker; resolves once the server admitted it. */
function queued(handle: WorkflowHandle, id: string, send: (updateId: string) => Promise<AckResult>): { settled: Promise<AckResult | Error>; admitted: Promise<void> } {
  const settled = send(id).catch((e: Error) => e);
  return { settled, admitted: updateAdmitted(temporal.client, handle.workflowId, id) };
}

/** The run of the workflow id is the one a hand-over held on `queue` (no worker polls it yet). */
async function heldOn(handle: WorkflowHandle, queue: string): Promise<string> {
  return waitFor(`the hand-over held on ${queue}`, async () => {
    const d = await handle.describe();
    return d.taskQueue === queue ? d.runId : undefined;
  }, 150_000);
}

/** What the run's first workflow task handled: the signals before it, the updates it accepted. */
async function firstActivationOf(handle: WorkflowHandle, runId: string): Promise<{ signals: number; accepted: string[] }> {
  const events = (await temporal.client.workflow.getHandle(handle.workflowId, runId).fetchHistory()).events ?? [];
  const firstStarted = events.findIndex((e) => e.workflowTaskStartedEventAttributes);
  const firstCompleted = events.findIndex((e) => e.workflowTaskCompletedEventAttributes);
  const next = events.findIndex((e, i) => i > firstCompleted && e.workflowTaskStartedEventAttributes);
  const signals = events.slice(0, firstStarted).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  const accepted = events.slice(firstCompleted, next < 0 ? undefined : next)
    .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId)
    .filter((x): x is string => !!x);
  return { signals, accepted: accepted.sort((a, b) => ['approve-naming', 'resume-carried-pause', 'extend-carried-window'].indexOf(a) - ['approve-naming', 'resume-carried-pause', 'extend-carried-window'].indexOf(b)) };
}

function rejection(r: AckResult | Error): string {
  expect(r, 'the update was rejected').toBeInstanceOf(WorkflowUpdateFailedError);
  return ((r as WorkflowUpdateFailedError).cause as Error).message;
}

/**
 * Issue 24 item 2: messages delivered in the first activation after a hand-over are validated
 * against the carried state, as before it. A test interceptor holds the new run on a queue no
 * worker polls (test/helpers/held-handover), the messages are queued (admitted by the server),
 * then a worker starts: they all land in the new run's first activation.
 */
describe('heapToPartitionedConversion: messages in the first activation after a hand-over', () => {
  it('approve with and without the drift named, signal approve, resume of a carried pause, extend, pause and abort are judged against the carried state; oracle at zero', async () => {
    const writer = new SqlWriter(db.url, 80, 2);
    onTestFinished(() => writer.stop());
    await writer.load();
    writer.start();
    const workflowId = `held-${taskQueue}`;
    const h = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId,
      args: [{ nonProduction: true, retentionMinutes: 3, retentionCheckMinutes: 0.05, approvals: { beforeSwap: false }, copy: { batchSize: 500, sliceSeconds: 1, maxRowsPerSecond: 5000 }, history: { maxEvents: 100 } }],
    });
    await waitFor('the retention window', async () => (await h.query(statusQuery)).phase === 'retention', 150_000);
    // A pause the hand-over carries, then drift: retention requires an approval of the drop to name it.
    await h.executeUpdate(pauseUpdate, { args: [ana('hold the drop while we look')] });
    await plantOldTableDrift(db.pool);

    // 1. The first run that hands over with the condition carried is held on ~h1.
    const h1 = `${taskQueue}~h1`;
    const run1 = await heldOn(h, h1);
    await h.signal(approveSignal, NOT_NAMING);
    const m1 = {
      notNaming: queued(h, 'approve-not-naming', (id) => h.executeUpdate(approveUpdate, { args: [NOT_NAMING], updateId: id })),
      naming: queued(h, 'approve-naming', (id) => h.executeUpdate(approveUpdate, { args: [NAMING], updateId: id })),
      resume: queued(h, 'resume-carried-pause', (id) => h.executeUpdate(resumeUpdate, { args: [ana('looked: go on')], updateId: id })),
      extend: queued(h, 'extend-carried-window', (id) => h.executeUpdate(extendUpdate, { args: [{ ...ana('more time'), minutes: 1 }], updateId: id })),
    };
    await Promise.all(Object.values(m1).map((m) => m.admitted));
    expect((await h.describe()).runId, 'still held: nothing processed yet').toBe(run1);
    workers.push(await startWorker(temporal, db.url, h1, bundle));

    expect(rejection(await m1.notNaming.settled)).toMatch(/reason: .*drift.*must name it/);
    expect(await m1.naming.settled).toMatchObject({ accepted: true });
    expect(await m1.resume.settled).toMatchObject({ accepted: true, message: 'resumed' });
    expect(await m1.extend.settled).toMatchObject({ accepted: true, message: 'window extended by 1 min' });
    const s1 = await h.query(statusQuery);
    expect(s1.notes.some((n) => /ignored approve signal: reason: .*must name it/.test(n)), s1.notes.join('\n')).toBe(true);
    expect(s1.gateConditions?.map((c) => c.gate)).toEqual(['drop-old-table']);
    expect(s1.state).not.toBe('paused');
    expect(await firstActivationOf(h, run1)).toEqual({ signals: 1, accepted: ['approve-naming', 'resume-carried-pause', 'extend-carried-window'] });

    // 2. The run after it is held on ~h2: a pause (none carried) and an abort in its first activation.
    const h2 = `${taskQueue}~h2`;
    await heldOn(h, h2);
    const m2 = {
      pause: queued(h, 'pause-after-resume', (id) => h.executeUpdate(pauseUpdate, { args: [ana('pause again')], updateId: id })),
      resume: queued(h, 'resume-not-paused', (id) => h.executeUpdate(resumeUpdate, { args: [ana('nothing to resume')], updateId: id })),
      abort: queued(h, 'abort', (id) => h.executeUpdate(abortUpdate, { args: [ana('end of test')], updateId: id })),
      endRetention: queued(h, 'approve-end-retention', (id) => h.executeUpdate(approveUpdate, { args: [{ ...ana('enough retention'), gate: 'end-retention' }], updateId: id })),
    };
    await Promise.all(Object.values(m2).map((m) => m.admitted));
    workers.push(await startWorker(temporal, db.url, h2, bundle));
    expect(await m2.abort.settled).toMatchObject({ accepted: true });
    // The window's own gate is open from the first activation, as it was before the hand-over.
    expect(await m2.endRetention.settled).toMatchObject({ accepted: true, message: 'approved end-retention' });
    // pause and resume were queued together: whichever came first, the pause is accepted
    // (nothing carried is paused) and exactly one of the two judged the other's effect.
    const pause = await m2.pause.settled;
    const resume = await m2.resume.settled;
    expect(pause).toMatchObject({ accepted: true });
    if (resume instanceof Error) expect(rejection(resume)).toMatch(/neither paused nor waiting/);
    else expect(resume).toMatchObject({ accepted: true });

    const summary = (await h.result()) as ConversionSummary;
    await writer.stop();
    expect(summary.outcome).toBe('aborted');
    expect(summary.droppedOldTable).toBe(false);
    const decisions = summary.decisions.map((d) => `${d.action}${d.gate ? ` ${d.gate}` : ''}: ${d.reason}`);
    expect(decisions).toEqual(expect.arrayContaining([`approve drop-old-table: ${NAMING.reason}`, 'resume: looked: go on', 'extend: more time', 'pause: pause again', 'abort: end of test', 'approve end-retention: enough retention']));
    expect(decisions.filter((d) => d.includes(NOT_NAMING.reason)), 'no approval without the drift named').toEqual([]);
    expect(await checkOracle(db.url, 'memory_records', writer.oracle)).toMatchObject({ missing: 0, stale: 0, resurrected: 0 });
  });
});
