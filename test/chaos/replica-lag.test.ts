import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { MockActivityEnvironment } from '@temporalio/testing';
import { startPostgres, createDatabase, type RunningPostgres } from '../../src/devenv/postgres';
import { applyPlan } from '../../src/migrations/runner';
import { createProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';
import { seedRecords } from '../../src/loadgen/seed';
import { checkOracle, postgresReader } from '../../src/loadgen/oracle';
import { createBackfillActivities, type BackfillChunkResult, type Checkpoint } from '../../activities/production/backfill';
import { sampleReplicaLag, waitForReplicas, LagUnmeasurable } from '../../activities/lib/replica-lag';
import { startApps, type RunningApps } from '../helpers/app';
import { startStandby, type Standby } from '../helpers/standby';
import { MEMORY_ONLY } from '../helpers/cutover-env';
import { lostRecords, scenario, sleep } from './lib';

// Its own primary (its data directory is cloned) and a real streaming standby of it.
let primary: RunningPostgres;
let standby: Standby;
let dbUrl: string;
let apps: RunningApps;
let pool: Pool;
const quiet = () => undefined;
const logger = { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet };
const run = <I, O>(env: MockActivityEnvironment, fn: (i: I) => Promise<O>, input: I): Promise<O> => env.run(fn, input);

beforeAll(async () => {
  primary = await startPostgres();
  dbUrl = await createDatabase(primary.url, 'lag');
  pool = new Pool({ connectionString: dbUrl, max: 4 });
  const c = await pool.connect();
  await applyPlan(c, 'partitioned').finally(() => c.release());
  standby = await startStandby(primary);
  apps = await startApps(2, { dbUrl, bootMode: MEMORY_ONLY, heartbeatMs: 500 });
}, 180_000);
afterAll(async () => {
  await apps?.stopAll();
  await pool?.end();
  await standby?.stop();
  await primary?.stop();
});

describe('replica-lag throttle: a real streaming standby whose replay is paused', () => {
  it('pauses the backfill while the standby lags, says why in its heartbeat, resumes once it catches up, and loses nothing', async () => {
    await scenario('backfill paused by standby replay lag', async () => {
      const log = await seedRecords(apps.instances.map((i) => i.url), { count: 3000, months: 3, owners: 20, adminToken: apps.adminToken });
      const acts = createBackfillActivities({ profiles: createProfileResolver({ default: dbUrl }), secrets: createSecretResolver({ default: apps.adminToken }, {}) });
      const instances = apps.instances.map((i) => ({ instanceId: i.instanceId, adminUrl: i.url }));
      const plan = await run(new MockActivityEnvironment({}, { logger }), acts.planBackfill, { apps: { adminTokenRef: 'default' }, instances });

      await standby.query('SELECT pg_wal_replay_pause()');
      // WAL the paused standby cannot replay, and time for its lag to pass the limit, so the
      // backfill meets a lagging standby however fast this machine copies.
      await pool.query('CREATE TABLE lag_probe AS SELECT generate_series(1, 1000) AS x');
      for (let i = 0; i < 200 && (await sampleReplicaLag(pool)).replayLagMs <= 800; i++) await sleep(100);
      const reasons: string[] = [];
      const rowsWhenPaused: number[] = [];
      const results: BackfillChunkResult[] = [];
      const copying = (async () => {
        for (const unit of plan.units) {
          const env = new MockActivityEnvironment({}, { logger });
          env.on('heartbeat', (d: Checkpoint) => {
            if (d.pausedBecause && (reasons.length === 0 || reasons[reasons.length - 1] !== d.pausedBecause)) reasons.push(d.pausedBecause);
          });
          results.push(await run(env, acts.backfillChunk, {
            connectionProfile: 'default', table: 'memory_records', apps: { adminTokenRef: 'default' }, unit, cursor: null,
            batchSize: 50, chunkRows: 100_000, maxRowsPerSecond: 0, throttleWriteP99Ms: 10_000, dryRun: false,
            replicaLag: { maxReplicaLagMs: 800, maxSlotRetainedWalBytes: 1024 ** 3 },
          }));
        }
      })();
      copying.catch(() => undefined);
      // Paused: the reason shows in the heartbeat and no row is written for a while.
      for (let i = 0; i < 300 && reasons.length === 0; i++) await sleep(100);
      expect(reasons[0], 'the backfill never paused').toMatch(/^paused: standby replay lag \d+ ms > maxReplicaLagMs 800/);
      const count = async () => Number((await pool.query('SELECT count(*) AS n FROM memory_records')).rows[0].n);
      // The slab already in flight when the pause began (two are pipelined) may still land.
      await sleep(1000);
      rowsWhenPaused.push(await count());
      await sleep(3000);
      rowsWhenPaused.push(await count());
      expect(rowsWhenPaused[1], 'rows written while paused').toBe(rowsWhenPaused[0]);
      expect(rowsWhenPaused[0]).toBeLessThan(3000);
      const lagged = await sampleReplicaLag(pool);
      expect(lagged.standbys).toBe(1);
      expect(lagged.replayLagMs).toBeGreaterThan(800);

      await standby.query('SELECT pg_wal_replay_resume()');
      await copying;
      expect(results.reduce((a, r) => a + r.rows, 0)).toBe(3000);
      expect(results.reduce((a, r) => a + r.throttledMs, 0)).toBeGreaterThanOrEqual(3000);
      const verdict = await checkOracle(log, postgresReader(pool));
      expect({ missing: verdict.missing, stale: verdict.stale, resurrected: verdict.resurrected }).toEqual({ missing: 0, stale: 0, resurrected: 0 });
      // The standby has every row too.
      const onStandby = new Pool({ connectionString: dbUrl.replace(`:${primary.port}/`, `:${new URL(standby.url).port}/`), max: 1 });
      for (let i = 0; i < 100; i++) {
        const n = Number((await onStandby.query('SELECT count(*) AS n FROM memory_records')).rows[0].n);
        if (n === 3000) break;
        await sleep(200);
      }
      expect(Number((await onStandby.query('SELECT count(*) AS n FROM memory_records')).rows[0].n)).toBe(3000);
      await onStandby.end();
      return { dataLost: lostRecords(verdict), detail: `paused: ${reasons[0]}` };
    });
  }, 240_000);

  it('fails closed: a role that cannot see the standbys, or a profile pointing at the standby, pauses the work and says why', async () => {
    await pool.query(`DO $$ BEGIN CREATE ROLE lag_blind LOGIN PASSWORD 'blind'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    const u = new URL(dbUrl);
    u.username = 'lag_blind';
    u.password = 'blind';
    const blind = new Pool({ connectionString: u.toString(), max: 1 });
    const onStandby = new Pool({ connectionString: standby.url, max: 1 });
    try {
      await expect(sampleReplicaLag(blind)).rejects.toThrow(LagUnmeasurable);
      await expect(sampleReplicaLag(blind)).rejects.toThrow(/hidden from this role \(grant it pg_read_all_stats/);
      await expect(sampleReplicaLag(onStandby)).rejects.toThrow(/points at a standby/);
      for (const p of [blind, onStandby]) {
        const reports: (string | null)[] = [];
        let sleeps = 0;
        const waited = waitForReplicas(p, { maxReplicaLagMs: 60_000 }, async () => {
          if (++sleeps >= 3) throw new Error('still paused');
        }, (r) => reports.push(r));
        await expect(waited).rejects.toThrow('still paused');
        expect(reports.length).toBe(3);
        expect(reports.every((r) => /unmeasurable.*failing closed/.test(r ?? ''))).toBe(true);
      }
      // The limits off: nothing is measured, nothing waits.
      expect(await waitForReplicas(blind, { maxReplicaLagMs: 0 }, async () => { throw new Error('slept'); }, () => undefined)).toBe(0);
    } finally {
      await blind.end();
      await onStandby.end();
    }
  });
});
