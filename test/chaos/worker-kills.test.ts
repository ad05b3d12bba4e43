import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { useCutoverEnv } from '../helpers/cutover-env';
import { waitForStatus } from '../helpers/status';
import { statusQuery } from '../../workflows/messages';
import { getControl } from '../../src/memory-layer/control-plane';
import { killAllWorkers, registerSecret, lostRecords, scenario, sleep, spawnChaosWorker, type ChaosWorker } from './lib';
import { chaosCutoverInput, epochsOf, resultAcrossRestarts, whyStuck } from './production-run';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 4000, months: 6 });
afterAll(killAllWorkers);
beforeAll(() => registerSecret(`admin token (${__filename})`, env.apps.adminToken));

const MIN_KILLS = 10;

describe('the worker SIGKILLed at random points across every phase', () => {
  it(`survives at least ${MIN_KILLS} kills in one production run: completes once, no duplicate, epochs in order, nothing lost`, async () => {
    await scenario(`worker SIGKILLed ≥ ${MIN_KILLS} times in one production run`, async () => {
      const taskQueue = temporal.taskQueue('chaos-kills');
      const spawn = (n: number) => spawnChaosWorker({ taskQueue, dbUrl: env.db.url, adminToken: env.apps.adminToken, label: `kills-${n}` });
      let worker: ChaosWorker = await spawn(0);
      const load = env.startLoad(100);
      const handle = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId: `chaos-kills-${taskQueue}`, args: [chaosCutoverInput(1.5)] });
      await waitForStatus(handle, (s) => s.phase === 'preflight' || s.phases.length > 0, 60_000);

      // Kill every 1.5–3.5 s (seeded jitter, so a failure can be replayed), a new worker each time.
      // Kills are spread over the phases: at most a quota per phase (a killed backfill chunk
      // waits out its 10 s heartbeat timeout, so ten kills there would only test one phase),
      // and never twice before the run has moved on (phase or progress changed; monitoring moves
      // with time).
      const QUOTA: Record<string, number> = { backfill: 3, verify: 1, migrate: 1, 'switch primary to postgres': 1, monitoring: 8 };
      const phasesHit: string[] = [];
      let seed = 12345;
      const jitter = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 2000) + 1500;
      let finished = false;
      void handle.result().then(() => (finished = true), () => (finished = true));
      // A kill inside a short step (workflows/common/timeouts.ts SHORT_STEP) is noticed when its
      // 30 s start-to-close timeout expires; one kill in each of a few such phases stays bounded.
      let lastMark = '';
      let nextAt = Date.now() + jitter();
      // Bounded: a run that stops moving (e.g. a workflow task that keeps failing) ends the loop
      // and fails below with what its history says.
      const killsUntil = Date.now() + 300_000;
      let queryFailures = 0;
      while (!finished && phasesHit.length < MIN_KILLS + 2 && Date.now() < killsUntil) {
        await sleep(200);
        const s = await handle.query(statusQuery).catch(() => undefined);
        queryFailures = s ? 0 : queryFailures + 1;
        if (queryFailures > 150) throw new Error(`the run stopped answering queries for 30 s: ${await whyStuck(handle)}`);
        if (finished || !s) continue;
        const mark = `${s.phase}/${s.progress?.done ?? ''}/${s.phases.length}`;
        const inPhase = phasesHit.filter((p) => p === s.phase).length;
        // The monitoring window advances with time alone: it needs no progress mark between kills.
        const due = Date.now() >= nextAt && (mark !== lastMark || s.phase === 'monitoring') && inPhase < (QUOTA[s.phase] ?? 0);
        if (!due) continue;
        await worker.kill();
        phasesHit.push(s.phase);
        worker = await spawn(phasesHit.length);
        lastMark = mark;
        nextAt = Date.now() + jitter();
      }
      const result = await resultAcrossRestarts(handle, 360_000);
      await worker.kill();
      const log = await load.stop();

      expect(phasesHit.length, `kills landed in: ${phasesHit.join(', ')}`).toBeGreaterThanOrEqual(MIN_KILLS);
      expect(new Set(phasesHit).size, `kills landed in: ${phasesHit.join(', ')}`).toBeGreaterThanOrEqual(3);
      expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
      expect(result.finalMode).toEqual({ persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false });
      expect((await getControl(env.db.pool, 'memory_records'))?.mode.persistence).toBe('postgres');

      // No side effect applied twice in a harmful way:
      // - every record is in memory_records once;
      const dupes = await env.db.pool.query('SELECT count(*)::int AS n FROM (SELECT id FROM memory_records GROUP BY id HAVING count(*) > 1) d');
      expect(dupes.rows[0].n).toBe(0);
      // - the control epochs the run's mode changes returned only go up, and the row's epoch is
      //   the last of them or later (a retried setMode may bump it once more, harmlessly);
      const epochs = await epochsOf(handle);
      expect(epochs.length).toBeGreaterThanOrEqual(3);
      expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
      expect(new Set(epochs).size).toBe(epochs.length);
      const control = await getControl(env.db.pool, 'memory_records');
      expect(control!.epoch).toBeGreaterThanOrEqual(epochs[epochs.length - 1]);
      // - one run registered, finished once;
      const runs = await env.db.pool.query(`SELECT status FROM cutover_runs`);
      expect(runs.rows.map((r) => r.status)).toEqual(['completed']);
      // - every live instance applied the final epoch.
      const lagging = await env.db.pool.query(`SELECT instance_id FROM cutover_instances WHERE stopped_at IS NULL AND applied_epoch < $1`, [control!.epoch]);
      expect(lagging.rows).toEqual([]);

      const verdict = await env.oracleAgainstPostgres(log);
      expect({ missing: verdict.missing, stale: verdict.stale, resurrected: verdict.resurrected }).toEqual({ missing: 0, stale: 0, resurrected: 0 });
      return { dataLost: lostRecords(verdict), detail: `${phasesHit.length} kills in phases: ${phasesHit.join(', ')}; epochs ${epochs.join(',')}` };
    });
  }, 600_000);
});
