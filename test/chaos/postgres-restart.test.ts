import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Client } from 'pg';
import { useTemporal } from '../helpers/temporal';
import { useCutoverEnv } from '../helpers/cutover-env';
import { waitForStatus } from '../helpers/status';
import { getControl } from '../../src/memory-layer/control-plane';
import { approveUpdate, statusQuery } from '../../workflows/messages';
import type { ConversionSummary } from '../../workflows/conversion';
import { checkOracle as checkSqlOracle, heapDatabase, relkinds, SqlWriter } from '../conversion/harness';
import { chaos, killAllWorkers, registerSecret, lostRecords, scenario, sleep, spawnChaosWorker } from './lib';
import { chaosCutoverInput, resultAcrossRestarts } from './production-run';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 3000, months: 5 });
beforeAll(() => {
  registerSecret(`admin token (${__filename})`, env.apps.adminToken);
  // The file's own pool (test/helpers/db.ts) has no error listener: its idle clients get
  // "terminating connection" when Postgres stops, which would be an uncaught error here.
  env.db.pool.on('error', () => undefined);
});
afterAll(async () => {
  await killAllWorkers();
  await chaos('pg-resume'); // whatever happened, leave the server running for the next file
});

/** Every app instance answers /healthz again (they outlived the restart). */
async function appsAnswer(urls: string[]): Promise<void> {
  for (const url of urls) {
    const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
    expect(r.status).toBe(200);
  }
}

describe('Postgres restarted under a running cutover', () => {
  it('production cutover, Postgres restarted mid-backfill: completes, apps survive, nothing lost', async () => {
    await scenario('Postgres restarted mid-backfill (production cutover)', async () => {
      const taskQueue = temporal.taskQueue('chaos-pg-prod');
      await spawnChaosWorker({ taskQueue, dbUrl: env.db.url, adminToken: env.apps.adminToken, label: 'pg-restart-prod' });
      const load = env.startLoad(120);
      const handle = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId: `chaos-pg-prod-${taskQueue}`, args: [chaosCutoverInput(0.3)] });
      await waitForStatus(handle, (s) => s.phase === 'backfill' && (s.progress?.done ?? 0) > 0, 90_000);
      await sleep(1500);
      const ms = await chaos('pg-restart');
      const result = await resultAcrossRestarts(handle, 180_000);
      const log = await load.stop();
      expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
      expect((await getControl(env.db.pool, 'memory_records'))?.mode.persistence).toBe('postgres');
      await appsAnswer(env.urls());
      const dupes = await env.db.pool.query('SELECT count(*)::int AS n FROM (SELECT id FROM memory_records GROUP BY id HAVING count(*) > 1) d');
      expect(dupes.rows[0].n).toBe(0);
      const verdict = await env.oracleAgainstPostgres(log);
      expect({ missing: verdict.missing, stale: verdict.stale, resurrected: verdict.resurrected }).toEqual({ missing: 0, stale: 0, resurrected: 0 });
      return { dataLost: lostRecords(verdict), detail: `restart took ${ms} ms; ${load.handle.stats().failed} requests failed during it (never acknowledged)` };
    });
  });

  it('conversion, Postgres halted in the middle of the swap and resumed: completes or swaps back, nothing lost', async () => {
    await scenario('Postgres halted mid-swap (heap-to-partitioned conversion)', async () => {
      const db = await heapDatabase(20_000);
      onTestFinished(() => db.drop());
      const writer = new SqlWriter(db.url, 80, 3);
      onTestFinished(() => writer.stop());
      await writer.load();
      writer.start();
      const taskQueue = temporal.taskQueue('chaos-pg-swap');
      await spawnChaosWorker({ taskQueue, dbUrl: db.url, adminToken: 'tok_conversion_unused', label: 'pg-halt-swap' });
      const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId: `chaos-pg-swap-${taskQueue}`,
        args: [{ nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: true }, swap: { lockTimeoutMs: 100, maxTries: 60, backoffMs: 200, maxBackoffMs: 400 } }],
      });
      await waitForStatus(handle, (s) => s.state === 'waiting-for-approval' && s.waitingOn?.includes('"before-swap"') === true, 120_000);
      // A reader holds a lock on memory_records, so the swap is still trying to take its locks when Postgres goes down.
      const blocker = new Client({ connectionString: db.url });
      blocker.on('error', () => undefined);
      await blocker.connect();
      await blocker.query('BEGIN; SELECT count(*) FROM memory_records');
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'chaos', reason: 'approve the swap under test', gate: 'before-swap' }] });
      await waitForStatus(handle, (s) => s.phase === 'swap', 30_000);
      await sleep(1000);
      await chaos('pg-halt');
      await sleep(3000);
      await chaos('pg-resume');
      await blocker.end().catch(() => undefined);

      await waitForStatus(handle, (s) => s.state === 'waiting-for-approval' || ['completed', 'rolled-back', 'failed', 'aborted'].includes(s.state), 120_000);
      const st = await handle.query(statusQuery);
      if (st.state === 'waiting-for-approval') {
        await handle.executeUpdate(approveUpdate, { args: [{ operator: 'chaos', reason: 'approve the drop under test', gate: 'drop-old-table' }] });
      }
      const summary = (await handle.result()) as ConversionSummary;
      await writer.stop();
      expect(['completed', 'rolled-back']).toContain(summary.outcome);
      const kinds = await relkinds(db.pool);
      if (summary.outcome === 'completed') expect(kinds).toEqual({ memory_records: 'p', memory_records_partitioned: null, memory_records_old: null });
      else expect(kinds.memory_records).toBe('r');
      const verdict = await checkSqlOracle(db.url, 'memory_records', writer.oracle);
      expect(verdict).toEqual({ missing: 0, stale: 0, resurrected: 0, examples: [] });
      return { dataLost: lostRecords(verdict), detail: `${summary.outcome}; swap tries ${summary.swap?.tries ?? 'n/a'}, already swapped on retry: ${summary.swap?.alreadySwapped ?? 'n/a'}; ${writer.errors.length} writes failed while Postgres was down (not acknowledged)` };
    });
  });
});
