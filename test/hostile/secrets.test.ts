import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { useTestDatabase } from '../helpers/db';
import { spawnAppProcess, type SpawnedApp } from '../helpers/app';
import { seedRecords } from '../../src/loadgen/seed';
import { startLoad } from '../../src/loadgen/generator';
import { checkOracle, postgresReader } from '../../src/loadgen/oracle';
import type { ProductionCutoverResult } from '../../workflows/production';
import { killAllWorkers, logDir, logFile, registerSecret, removeOwnLogDir, spawnChaosWorker } from '../chaos/lib';
import { scanFiles, scanNamespace } from './secret-scan';

const temporal = useTemporal();
const db = useTestDatabase('control');
// A token that looks like a real one: long, random, never written to any input.
const ADMIN_TOKEN = `tok_${crypto.randomUUID().replace(/-/g, '')}`;
const apps: SpawnedApp[] = [];
registerSecret('admin token (secrets test)', ADMIN_TOKEN);

beforeAll(async () => {
  for (let i = 0; i < 2; i++) {
    // Apps get the database URL (with the password) and the token from their environment, as in production.
    const app = await spawnAppProcess({ dbUrl: db.url, adminToken: ADMIN_TOKEN, instanceId: `secrets-${i}-${process.pid}`, bootMode: { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: false } });
    apps.push(app);
  }
});
afterAll(async () => {
  await killAllWorkers();
  for (const a of apps) {
    a.kill('SIGTERM');
    await a.exited;
  }
  removeOwnLogDir();
});

describe('secrets never reach a workflow history or a log', () => {
  it('a cutover with the password and token in the worker and app environments leaves neither in any history or captured log', async () => {
    const urls = apps.map((a) => a.url);
    const seed = await seedRecords(urls, { count: 300, months: 3, owners: 10, adminToken: ADMIN_TOKEN });
    const taskQueue = temporal.taskQueue('secrets');
    const worker = await spawnChaosWorker({ taskQueue, dbUrl: db.url, adminToken: ADMIN_TOKEN, label: 'secrets' });
    const load = startLoad({ instances: urls, ratePerSec: 50, owners: 10 });
    const result = (await temporal.client.workflow.execute('productionCutover', {
      taskQueue, workflowId: `secrets-${taskQueue}`,
      args: [{ nonProduction: true, monitoring: { windowMinutes: 0.1, healthCheckEveryMinutes: 0.05 }, approvals: { beforeSwitchPrimary: false, beforeFinalCutover: false }, backfill: { batchSize: 100, chunkRows: 500 }, health: { maxLatencyRatio: 100 } }],
    })) as ProductionCutoverResult;
    const log = (await load.stop()).merge(seed);
    await worker.kill();
    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
    const verdict = await checkOracle(log, postgresReader(db.pool));
    expect({ missing: verdict.missing, stale: verdict.stale, resurrected: verdict.resurrected }).toEqual({ missing: 0, stale: 0, resurrected: 0 });

    // The apps' logs so far, beside the worker's (captured by spawnChaosWorker).
    for (const a of apps) logFile(`app-${a.instanceId}-during-run`).end(a.stderr());
    await new Promise((r) => setTimeout(r, 300));

    const secrets = { 'database password': inject('pgPassword'), 'admin token': ADMIN_TOKEN };
    const ns = await scanNamespace(temporal.client, secrets);
    expect(ns.workflows).toBeGreaterThanOrEqual(1);
    expect(ns.hits).toEqual([]);
    const files = scanFiles(logDir(), secrets);
    // The scan read real output: the worker's INFO log and both apps' JSON logs.
    expect(files.files).toBeGreaterThanOrEqual(3);
    expect(files.bytes).toBeGreaterThan(1000);
    expect(files.hits).toEqual([]);
  });
});
