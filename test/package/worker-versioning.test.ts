import { afterAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal as proto } from '@temporalio/proto';
import { createWorker, type CutoverWorker } from '../../src/worker/create-worker';
import { createProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';
import { currentBuildId, makeCurrent, type WorkerDeployment } from '../../src/worker/versioning';
import { approveUpdate, statusQuery } from '../../workflows/messages';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { expectConverted, ordersUnderLoad, startOrdersConversion } from '../helpers/orders-conversion';
import { waitFor } from '../conversion/harness';
import { fetchRunChain } from '../../src/audit/chain';

const db = useTestDatabase('control');
const temporal = useTemporal();
const running: { w: CutoverWorker; done: Promise<void> }[] = [];

afterAll(async () => {
  for (const r of running) r.w.worker.shutdown();
  await Promise.allSettled(running.map((r) => r.done));
});

/** A versioned worker of build `d` on the test's task queue, in this process, with its own identity. */
async function deploy(taskQueue: string, d: WorkerDeployment): Promise<CutoverWorker> {
  const w = await createWorker({
    connection: temporal.nativeConnection, namespace: temporal.namespace, taskQueue,
    workflowBundle: temporal.workflowBundle, deployment: d,
    profiles: createProfileResolver({ default: db.url }), secrets: createSecretResolver({}),
    workerOptions: { identity: `worker-${d.buildId}` },
  });
  running.push({ w, done: w.run() });
  return w;
}

/** The build id (and worker identity) of every completed workflow task of a run's whole chain (continue-as-new), from the histories. */
async function taskBuilds(handle: WorkflowHandle): Promise<{ buildId?: string; identity?: string }[]> {
  const chain = await fetchRunChain(temporal.client.workflow, handle.workflowId);
  return chain.flatMap((h) => (h.events ?? []) as proto.api.history.v1.IHistoryEvent[]).filter((e) => e.workflowTaskCompletedEventAttributes).map((e) => ({
    buildId: e.workflowTaskCompletedEventAttributes!.deploymentVersion?.buildId ?? undefined,
    identity: e.workflowTaskCompletedEventAttributes!.identity ?? undefined,
  }));
}

const chainLength = async (workflowId: string) => (await fetchRunChain(temporal.client.workflow, workflowId)).length;

describe('Worker Versioning on the dev server: a run stays on the build that started it', () => {
  it('a conversion started on build A waits in retention while build B is deployed and made current; a new run goes to B, the first (continuing as new meanwhile) completes on A, oracle at zero for both', async () => {
    const taskQueue = temporal.taskQueue('versioned');
    const A: WorkerDeployment = { deploymentName: taskQueue, buildId: 'build-a' };
    const B: WorkerDeployment = { deploymentName: taskQueue, buildId: 'build-b' };
    const service = temporal.client.workflowService;

    await deploy(taskQueue, A);
    expect(await makeCurrent(service, temporal.namespace, A)).toBe('build-a');
    const first = await ordersUnderLoad(db, 'vera');
    const second = await ordersUnderLoad(db, 'verb');
    const judged: string[] = [];
    try {
      // A small history budget: run A continues as new during retention, also after B is current.
      const runA = await startOrdersConversion(temporal.client, taskQueue, `conv-a-${taskQueue}`, first.table, 30, { history: { maxEvents: 100 } });
      await waitFor('run A in its retention window', async () => {
        const s = await runA.query(statusQuery);
        return s.phases.some((p) => p.phase === 'retention' && !p.endedAt) && s.state === 'running';
      }, 120_000);
      const tasksBeforeB = (await taskBuilds(runA)).length;

      // Deploy build B and make it current (what `temporal worker deployment set-current-version` does).
      await deploy(taskQueue, B);
      expect(await makeCurrent(service, temporal.namespace, B)).toBe('build-b');
      expect((await currentBuildId(service, temporal.namespace, taskQueue)).buildId).toBe('build-b');
      const runsAtB = await chainLength(runA.workflowId);

      // A new, unversioned start goes to the current version: B.
      const runB = await startOrdersConversion(temporal.client, taskQueue, `conv-b-${taskQueue}`, second.table, 0);
      await expectConverted(db, runB, second.table);
      const vB = await second.judge();
      judged.push('b');
      expect(vB, JSON.stringify(vB.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });

      // Run A continues as new after B became current: the new run stays pinned to A.
      await waitFor('run A to continue as new after B became current', async () => (await chainLength(runA.workflowId)) > runsAtB, 240_000);

      // Run A is still in retention; end the window: it completes, still on A.
      expect((await runA.query(statusQuery)).phases.some((p) => p.phase === 'retention' && !p.endedAt)).toBe(true);
      await runA.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'B is live, end the window', gate: 'end-retention' }] });
      await expectConverted(db, runA, first.table);
      const vA = await first.judge();
      judged.push('a');
      expect(vA, JSON.stringify(vA.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });

      // Every workflow task of each run ran on its own build, A's also after B became current.
      const a = await taskBuilds(runA);
      const b = await taskBuilds(runB);
      expect(a.length).toBeGreaterThan(tasksBeforeB);
      expect(new Set(a.map((t) => `${t.buildId} ${t.identity}`))).toEqual(new Set(['build-a worker-build-a']));
      expect(new Set(b.map((t) => `${t.buildId} ${t.identity}`))).toEqual(new Set(['build-b worker-build-b']));
      for (const [h, build] of [[runA, 'build-a'], [runB, 'build-b']] as const) {
        const vi = (await h.describe()).raw.workflowExecutionInfo?.versioningInfo;
        expect(vi?.behavior).toBe(1); // VERSIONING_BEHAVIOR_PINNED
        expect(vi?.deploymentVersion?.buildId).toBe(build);
      }
    } finally {
      if (!judged.includes('a')) await first.load.stop();
      if (!judged.includes('b')) await second.load.stop();
    }
  }, 600_000);
});
