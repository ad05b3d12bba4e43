import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporal as temporal_ } from '@temporalio/proto';
import { useTemporal } from '../helpers/temporal';
import { useCutoverEnv } from '../helpers/cutover-env';
import { waitForStatus } from '../helpers/status';
import { killAllWorkers, registerSecret, lostRecords, scenario, sleep, spawnChaosWorker } from './lib';
import { chaosCutoverInput, resultAcrossRestarts, whyStuck } from './production-run';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 6000, months: 6 });
afterAll(killAllWorkers);
beforeAll(() => registerSecret(`admin token (${__filename})`, env.apps.adminToken));

/** Worker identities are `<pid>@<host>` (the SDK's default). */
const pidOf = (identity: string | null | undefined) => Number(String(identity ?? '').split('@')[0]);

describe('two worker processes on one task queue', () => {
  it('spread the backfill lanes over both, and one SIGKILLed mid-backfill leaves the other to finish the run with nothing lost', async () => {
    await scenario('two workers, one SIGKILLed mid-backfill', async () => {
      const taskQueue = temporal.taskQueue('two-workers');
      const spawn = (label: string) => spawnChaosWorker({ taskQueue, dbUrl: env.db.url, adminToken: env.apps.adminToken, label });
      const [a, b] = await Promise.all([spawn('a'), spawn('b')]);
      const load = env.startLoad(100);
      const input = chaosCutoverInput(0.3);
      // Slow lanes (250 rows/s each, chunks of 1000) so the backfill lasts long enough to be seen on both workers.
      input.backfill = { ...input.backfill, chunkRows: 1000, maxRowsPerSecond: 250 };
      const handle = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId: `two-workers-${taskQueue}`, args: [input] });
      await waitForStatus(handle, (s) => s.phase === 'backfill', 120_000);

      // Which worker runs each backfill chunk: the pending activities name the worker that holds them.
      const ranOn = new Set<number>();
      let victim: number | undefined;
      for (const until = Date.now() + 120_000; Date.now() < until && victim === undefined; await sleep(150)) {
        const d = await handle.describe();
        const pending = (d.raw.pendingActivities ?? []).filter((p) => p.activityType?.name === 'backfillChunk' && p.lastWorkerIdentity);
        for (const p of pending) ranOn.add(pidOf(p.lastWorkerIdentity));
        // Kill once both have run lanes, the victim holding a chunk right now (mid-backfill).
        if (ranOn.has(a.pid) && ranOn.has(b.pid)) victim = pidOf(pending.find((p) => p.state === temporal_.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED)?.lastWorkerIdentity) || undefined;
      }
      expect([...ranOn].sort(), `backfill chunks held by: ${[...ranOn].join(', ')}; ${await whyStuck(handle)}`).toEqual([a.pid, b.pid].sort());
      expect(victim).toBeDefined();
      const [killed, survivor] = victim === a.pid ? [a, b] : [b, a];
      const killedAt = Date.now();
      await killed.kill();

      const result = await resultAcrossRestarts(handle, 420_000);
      await survivor.kill();
      const log = await load.stop();
      expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
      expect(result.finalMode).toEqual({ persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false });

      // The chunk the killed worker held was retried, and the rest of the run ran on the survivor.
      const events = (await handle.fetchHistory()).events ?? [];
      const types = new Map<string, string>();
      for (const e of events) if (e.activityTaskScheduledEventAttributes) types.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
      const started = events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => ({
        type: types.get(String(e.activityTaskStartedEventAttributes!.scheduledEventId)),
        pid: pidOf(e.activityTaskStartedEventAttributes!.identity),
        attempt: e.activityTaskStartedEventAttributes!.attempt ?? 1,
        at: Number(e.eventTime?.seconds ?? 0) * 1000,
      }));
      const retried = started.filter((s) => s.type === 'backfillChunk' && s.attempt > 1);
      expect(retried.length, 'a backfill chunk retried after the kill').toBeGreaterThan(0);
      expect(retried.every((s) => s.pid === survivor.pid)).toBe(true);
      expect(started.filter((s) => s.at > killedAt + 1000).every((s) => s.pid === survivor.pid)).toBe(true);

      const dupes = await env.db.pool.query('SELECT count(*)::int AS n FROM (SELECT id FROM memory_records GROUP BY id HAVING count(*) > 1) d');
      expect(dupes.rows[0].n).toBe(0);
      const verdict = await env.oracleAgainstPostgres(log);
      expect({ missing: verdict.missing, stale: verdict.stale, resurrected: verdict.resurrected }).toEqual({ missing: 0, stale: 0, resurrected: 0 });
      return { dataLost: lostRecords(verdict), detail: `lanes on ${[...ranOn].join(' and ')}; killed ${killed.pid}; ${retried.length} chunk(s) retried on ${survivor.pid}` };
    });
  }, 600_000);
});
