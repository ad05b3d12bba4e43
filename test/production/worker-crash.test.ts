import { describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { expectNothingLost, useCutoverEnv } from '../helpers/cutover-env';
import { spawnWorker } from '../helpers/spawn-worker';
import { waitForStatus } from '../helpers/status';
import type { ProductionCutoverResult } from '../../workflows/production';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 6000, months: 6 });

describe('productionCutover survives worker crashes', () => {
  it('finishes after the worker is SIGKILLed twice during the backfill, resuming from the heartbeat checkpoint', async () => {
    const taskQueue = temporal.taskQueue('prod-crash');
    const load = env.startLoad(100);
    let worker = await spawnWorker({ taskQueue, dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const handle = await temporal.client.workflow.start('productionCutover', {
      taskQueue,
      workflowId: `prod-crash-${taskQueue}`,
      args: [{
        nonProduction: true,
        monitoring: { windowMinutes: 0.1, healthCheckEveryMinutes: 0.05 },
        approvals: { beforeSwitchPrimary: false, beforeFinalCutover: false },
        // Slow, long chunks: each kill lands inside a chunk that has heartbeated progress.
        backfill: { batchSize: 100, chunkRows: 6000, parallelism: 1, maxRowsPerSecond: 500 },
        health: { maxLatencyRatio: 100 },
      }],
    });
    const kills: number[] = [];
    /** Until a running backfillChunk has heartbeated a checkpoint (a kill then lands inside a chunk with progress to resume from). */
    const waitForChunkHeartbeat = async () => {
      for (const until = Date.now() + 120_000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
        const d = await handle.describe();
        if ((d.raw.pendingActivities ?? []).some((p) => p.activityType?.name === 'backfillChunk' && p.heartbeatDetails?.payloads?.length && p.lastWorkerIdentity)) return;
      }
      throw new Error('no backfill chunk heartbeated within 120 s');
    };
    for (let k = 0; k < 2; k++) {
      const s = await waitForStatus(handle, (st) => st.phase === 'backfill' && (st.progress?.done ?? 0) >= 0 && st.state === 'running', 120_000);
      expect(s.phase).toBe('backfill');
      // Killed inside a chunk that has heartbeated progress (waited for, not timed: a loaded machine starts chunks later).
      await waitForChunkHeartbeat();
      await worker.kill();
      kills.push(Date.now());
      worker = await spawnWorker({ taskQueue, dbUrl: env.db.url, adminToken: env.apps.adminToken });
    }
    const result = (await handle.result()) as ProductionCutoverResult;
    await worker.kill();
    const log = await load.stop();

    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
    expect(kills).toHaveLength(2);
    // Each killed attempt was retried from its last heartbeat, not from the start of the chunk.
    expect(result.backfill.resumedChunks).toBeGreaterThanOrEqual(1);
    const history = await handle.fetchHistory();
    const resumed = history.events!.filter((e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1);
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    // No row was copied more often than needed: every seeded record is there exactly once.
    const dupes = await env.db.pool.query('SELECT count(*)::int AS n FROM (SELECT id FROM memory_records GROUP BY id HAVING count(*) > 1) d');
    expect(dupes.rows[0].n).toBe(0);
    const verdict = await env.oracleAgainstPostgres(log);
    expectNothingLost(verdict);
  });
});
