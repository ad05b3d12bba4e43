import { inject } from 'vitest';
import { Pool } from 'pg';
import type { Client } from '@temporalio/client';
import { createDatabase, dropDatabase } from '../../src/devenv/postgres';
import { applyPlan } from '../../src/migrations/runner';
import { seedRecords } from '../../src/loadgen/seed';
import { startLoad, type LoadHandle } from '../../src/loadgen/generator';
import { checkOracle, instancesReader, postgresReader, type OracleVerdict } from '../../src/loadgen/oracle';
import type { OpLog } from '../../src/loadgen/oplog';
import type { ProductionCutoverInput } from '../../workflows/production-input';
import type { ProductionCutoverResult } from '../../workflows/production';
import { statusQuery } from '../../workflows/messages';
import { getCutoverHandle } from '../../src/client';
import { spawnAppProcess, startApps, type RunningApps, type SpawnedApp } from '../helpers/app';
import { failWrites, type WriteFault } from '../helpers/write-faults';
import { MEMORY_ONLY } from '../helpers/cutover-env';
import { describeSchedule, planSchedule, type FaultKind, type PlannedFault } from './fault-schedule';
import { parsePrometheus, sumOf } from '../../activities/lib/prom';
import { chaos, lostRecords, registerSecret, sleep, spawnChaosWorker, type ChaosWorker } from './lib';
import { resultAcrossRestarts, whyStuck } from './production-run';

/** The run under the random schedule: short windows, a throttled back-fill long enough to hit. */
export const RANDOM_RUN_INPUT: ProductionCutoverInput = {
  nonProduction: true,
  monitoring: { windowMinutes: 0.15, healthCheckEveryMinutes: 0.05 },
  approvals: { beforeSwitchPrimary: false, beforeFinalCutover: false },
  backfill: { batchSize: 100, chunkRows: 600, parallelism: 2, maxRowsPerSecond: 400 },
  health: { maxLatencyRatio: 100 },
};

export interface SeedOutcome {
  seed: number;
  schedule: string;
  /** What was injected, in order, with the phase it landed in (or "not reached"). */
  injected: string[];
  outcome: ProductionCutoverResult['outcome'];
  /** Why the run rolled back, when it did (branch: cause). */
  rollbacks: string[];
  finalMode: ProductionCutoverResult['finalMode'];
  judgedAgainst: 'postgres' | 'instances';
  verdict: OracleVerdict;
  /** For a lost record: who acknowledged it and when (the oplog), and what Postgres holds. */
  lost: string[];
}

interface Fleet {
  inProcess: RunningApps;
  /** Child-process instances (the freeze and kill targets, and the ones started mid-run). */
  procs: SpawnedApp[];
  loads: LoadHandle[];
}

const urls = (f: Fleet) => [...f.inProcess.instances.map((i) => i.url), ...f.procs.map((p) => p.url)];

/**
 * One seed: a fresh Phase 2 deployment (two in-process instances and one app process, seeded),
 * a worker process, load through every instance, the production cutover, and the seed's faults
 * injected when the run first reaches each fault's phase. Ends when the run ends: its final mode
 * is stated and the oracle judges the primary store of that mode (Postgres, or the instances'
 * memory after a rollback).
 */
export async function runSeed(seed: number, opts: { client: Client; taskQueue: string; kinds: readonly FaultKind[]; log?: (line: string) => void }): Promise<SeedOutcome> {
  const schedule = planSchedule(seed, opts.kinds);
  const say = opts.log ?? (() => undefined);
  say(`CHAOS_SEED=${seed}: ${describeSchedule(schedule)}`);
  const name = `chaos_seed_${seed}_${process.pid}_${Date.now().toString(36)}`;
  const dbUrl = await createDatabase(inject('pgAdminUrl'), name);
  const pool = new Pool({ connectionString: dbUrl, max: 3 });
  pool.on('error', () => undefined);
  const fleet: Fleet = { inProcess: undefined as unknown as RunningApps, procs: [], loads: [] };
  let worker: ChaosWorker | undefined;
  const pending: Promise<unknown>[] = [];
  const frozen = new Set<SpawnedApp>();
  const faults: WriteFault[] = [];
  try {
    const c = await pool.connect();
    try {
      await applyPlan(c, 'control');
    } finally {
      c.release();
    }
    fleet.inProcess = await startApps(2, { dbUrl, bootMode: MEMORY_ONLY, heartbeatMs: 500, prefix: `s${seed}` });
    const token = fleet.inProcess.adminToken;
    registerSecret(`admin token (chaos seed ${seed})`, token);
    const spawnApp = (label: string) =>
      spawnAppProcess({ dbUrl, adminToken: token, instanceId: `s${seed}-${label}`, bootMode: MEMORY_ONLY, env: { LICHEN_HEARTBEAT_MS: '500' } });
    fleet.procs.push(await spawnApp('proc'));
    const seedLog = await seedRecords(urls(fleet), { count: 1200, months: 3, owners: 30, adminToken: token });
    worker = await spawnChaosWorker({ taskQueue: opts.taskQueue, dbUrl, adminToken: token, label: `seed-${seed}` });
    fleet.loads.push(startLoad({ instances: urls(fleet), ratePerSec: 60, owners: 20, seed }));
    const handle = await opts.client.workflow.start('productionCutover', {
      taskQueue: opts.taskQueue,
      workflowId: `chaos-seed-${seed}-${opts.taskQueue}`,
      args: [RANDOM_RUN_INPUT],
    });
    let finished = false;
    void handle.result().then(() => (finished = true), () => (finished = true));

    const todo = [...schedule];
    const injected: string[] = [];
    const inject1 = async (f: PlannedFault, now: string): Promise<void> => {
      injected.push(`${f.kind} @ ${f.phase}${now === f.phase ? '' : ` (landed in ${now}: the planned phase passed between two polls)`}`);
      say(`  seed ${seed}: ${f.kind} in ${f.phase}`);
      switch (f.kind) {
        case 'freeze-instance': {
          const p = fleet.procs[0];
          p.kill('SIGSTOP');
          frozen.add(p);
          pending.push(sleep(f.seconds! * 1000).then(() => (p.kill('SIGCONT'), frozen.delete(p))));
          return;
        }
        case 'kill-instance': {
          const p = fleet.procs.shift()!;
          p.kill('SIGKILL');
          await p.exited;
          return;
        }
        case 'start-instance': {
          const p = await spawnApp(`new${fleet.procs.length}`);
          fleet.procs.push(p);
          fleet.loads.push(startLoad({ instances: [p.url], ratePerSec: 20, owners: 5, seed: seed + 1 }));
          return;
        }
        case 'refuse-writes': {
          const fault = await failWrites(pool);
          faults.push(fault);
          pending.push(sleep(f.seconds! * 1000).then(() => fault.undo().then(() => faults.splice(faults.indexOf(fault), 1))));
          return;
        }
        case 'kill-worker':
          await worker!.kill();
          worker = await spawnChaosWorker({ taskQueue: opts.taskQueue, dbUrl, adminToken: token, label: `seed-${seed}-${injected.length}` });
          return;
        case 'restart-temporal':
          await chaos('temporal-restart');
          return;
      }
    };
    const until = Date.now() + 300_000;
    while (!finished && todo.length > 0 && Date.now() < until) {
      await sleep(200);
      const s = await handle.query(statusQuery).catch(() => undefined);
      if (!s) continue;
      // A phase shorter than the poll (migrate takes ~100 ms) may start and end between two
      // polls: a fault planned for it lands right after, in the phase the run is in, and says so.
      const i = todo.findIndex((f) => f.phase === s.phase || s.phases.some((p) => p.phase === f.phase));
      if (i >= 0) await inject1(todo.splice(i, 1)[0], s.phase);
    }
    for (const f of todo) injected.push(`${f.kind} @ ${f.phase}: not reached`);
    // The operator's part: the final cutover waits while a fleet member is silent or lags
    // (workflows/production/membership.ts); once every frozen instance is thawed, retry.
    const operator = (async () => {
      while (!finished) {
        await sleep(1_000);
        const s = await handle.query(statusQuery).catch(() => undefined);
        if (s?.state !== 'waiting-for-operator' || !/fleet members have not acknowledged/.test(s.waitingOn ?? '') || frozen.size > 0) continue;
        injected.push('operator: retry after the fleet members came back');
        await sleep(2_000); // a thawed instance re-reads the control row
        await getCutoverHandle(opts.client, handle.workflowId).resume({ operator: 'chaos', reason: 'the silent members are back', decision: 'retry' }).catch(() => undefined);
      }
    })();
    const result = await resultAcrossRestarts(handle, 360_000).finally(() => (finished = true)).catch(async (err: Error) => {
      throw new Error(`CHAOS_SEED=${seed} (${describeSchedule(schedule)}): ${err.message}; ${await whyStuck(handle)}`);
    });
    await operator;
    await Promise.all(pending);
    await sleep(1_000); // thawed instances re-read the control row
    const logs = await Promise.all(fleet.loads.map((l) => l.stop()));
    const log: OpLog = logs.reduce((a, b) => a.merge(b), seedLog);
    const onPostgres = result.finalMode.persistence === 'postgres';
    const verdict = onPostgres
      ? await checkOracle(log, postgresReader(pool))
      : await checkOracle(log, instancesReader(urls(fleet), token));
    const lost: string[] = [];
    if (lostRecords(verdict) > 0) {
      let failures = 0;
      for (const u of urls(fleet)) {
        const text = await fetch(`${u}/metrics`).then((r) => r.text()).catch(() => '');
        failures += sumOf(parsePrometheus(text), 'dual_write_failures_total');
      }
      lost.push(`dual-write failures counted by the instances: ${failures}`);
    }
    for (const id of [...verdict.samples.missing, ...verdict.samples.stale, ...verdict.samples.resurrected]) {
      const e = log.get(id);
      const row = (await pool.query('SELECT updated_at FROM memory_records WHERE id = $1', [id]).catch(() => ({ rows: [] }))).rows[0] as { updated_at?: Date } | undefined;
      lost.push(`${id} acked by ${e?.instance} created ${e?.createdAt} updated ${e?.updatedAt}${e?.deleted ? ' deleted' : ''}; postgres: ${row ? row.updated_at?.toISOString() : 'none'}`);
    }
    const rollbacks = result.rollbacks.map((b) => `${b.branch}: ${b.cause}`.slice(0, 200));
    return { seed, lost, rollbacks, schedule: describeSchedule(schedule), injected, outcome: result.outcome, finalMode: result.finalMode, judgedAgainst: onPostgres ? 'postgres' : 'instances', verdict };
  } finally {
    for (const p of frozen) p.kill('SIGCONT');
    await Promise.allSettled(faults.map((f) => f.undo()));
    await Promise.allSettled(fleet.loads.map((l) => l.stop()));
    await worker?.kill();
    for (const p of fleet.procs) {
      p.kill('SIGKILL');
      await p.exited;
    }
    await fleet.inProcess?.stopAll();
    await pool.end().catch(() => undefined);
    await dropDatabase(inject('pgAdminUrl'), name).catch(() => undefined);
  }
}
