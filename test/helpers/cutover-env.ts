import { afterAll, beforeAll, expect } from 'vitest';
import { Pool } from 'pg';
import { startApps, type RunningApps } from './app';
import { useTestDatabase, type TestDatabase } from './db';
import { seedRecords } from '../../src/loadgen/seed';
import { startLoad, type LoadHandle } from '../../src/loadgen/generator';
import { checkOracle, postgresReader, instancesReader, type OracleVerdict } from '../../src/loadgen/oracle';
import type { OpLog } from '../../src/loadgen/oplog';
import type { PersistenceMode } from '../../workflows/types';
import type { ProductionCutoverInput } from '../../workflows/production-input';

export const MEMORY_ONLY: PersistenceMode = { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: false };

export interface CutoverEnv {
  db: TestDatabase;
  apps: RunningApps;
  seedLog: OpLog;
  urls(): string[];
  /** Starts continuous load through the apps; stop() returns its log merged with the seed log. */
  startLoad(ratePerSec?: number): { handle: LoadHandle; stop(): Promise<OpLog> };
  oracleAgainstPostgres(log: OpLog): Promise<OracleVerdict>;
  oracleAgainstInstances(log: OpLog): Promise<OracleVerdict>;
}

/**
 * A Phase 2 deployment for one test file: a database with the control-plane tables only (no
 * memory_records yet), `instances` memory-layer instances in memory mode, seeded with `seed`
 * records spread over `months` months.
 */
export function useCutoverEnv(opts: { instances?: number; seed?: number; months?: number } = {}): CutoverEnv {
  const db = useTestDatabase('control');
  const env = { db } as CutoverEnv;
  beforeAll(async () => {
    env.apps = await startApps(opts.instances ?? 2, { dbUrl: db.url, bootMode: MEMORY_ONLY, heartbeatMs: 500 });
    env.seedLog = await seedRecords(env.urls(), { count: opts.seed ?? 1500, months: opts.months ?? 5, owners: 40, adminToken: env.apps.adminToken });
  });
  afterAll(async () => {
    await env.apps?.stopAll();
  });
  env.urls = () => env.apps.instances.map((i) => i.url);
  env.startLoad = (ratePerSec = 150) => {
    const handle = startLoad({ instances: env.urls(), ratePerSec, owners: 30 });
    return {
      handle,
      async stop() {
        const log = await handle.stop();
        return log.merge(env.seedLog);
      },
    };
  };
  env.oracleAgainstPostgres = async (log) => {
    const pool = new Pool({ connectionString: db.url, max: 2 });
    try {
      return await checkOracle(log, postgresReader(pool));
    } finally {
      await pool.end();
    }
  };
  env.oracleAgainstInstances = (log) => checkOracle(log, instancesReader(env.urls(), env.apps.adminToken));
  return env;
}

/** A production cutover that runs unattended in seconds: non-production window, no gates. */
export const QUICK_RUN: ProductionCutoverInput = {
  nonProduction: true,
  monitoring: { windowMinutes: 0.4, healthCheckEveryMinutes: 0.05 },
  approvals: { beforeSwitchPrimary: false, beforeFinalCutover: false },
  backfill: { batchSize: 300 },
  health: { maxLatencyRatio: 3, latencyFloorMs: 100 },
};

/** The oracle's verdict: no acknowledged write missing, stale or resurrected. */
export function expectNothingLost(v: OracleVerdict): void {
  expect({ missing: v.missing, stale: v.stale, resurrected: v.resurrected }, JSON.stringify(v.samples)).toEqual({ missing: 0, stale: 0, resurrected: 0 });
}
