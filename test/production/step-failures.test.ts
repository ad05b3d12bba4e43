import { describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { expectNothingLost, useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { waitForStatus } from '../helpers/status';
import type { ProductionCutoverInput } from '../../workflows/production-input';
import type { ProductionCutoverResult } from '../../workflows/production';
import { resumeUpdate } from '../../workflows/messages';
import { getControl } from '../../src/memory-layer/control-plane';
import { applyPlan } from '../../src/migrations/runner';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 1200, months: 4 });

const base: ProductionCutoverInput = {
  nonProduction: true,
  monitoring: { windowMinutes: 0.1, healthCheckEveryMinutes: 0.05 },
  approvals: { beforeSwitchPrimary: false, beforeFinalCutover: false },
  backfill: { batchSize: 300 },
  health: { maxLatencyRatio: 100 },
};

describe('productionCutover when a step cannot complete', () => {
  it('rolls back to the starting mode and keeps the Postgres data when parity cannot be repaired', async () => {
    // Fault: Postgres silently swallows every row whose id starts with "a" (1 in 16).
    await env.db.withClient((c) => applyPlan(c, 'partitioned'));
    await env.db.pool.query(`
      CREATE FUNCTION swallow_some() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF left(NEW.id::text, 1) = 'a' THEN RETURN NULL; END IF; RETURN NEW; END $$;
      CREATE TRIGGER swallow_some BEFORE INSERT ON memory_records FOR EACH ROW EXECUTE FUNCTION swallow_some();`);
    const taskQueue = temporal.taskQueue('prod-parity');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const load = env.startLoad(120);
    const result: ProductionCutoverResult = await w.runUntil(
      temporal.client.workflow.execute('productionCutover', { taskQueue, workflowId: `prod-parity-${taskQueue}`, args: [{ ...base, verify: { maxRepairRounds: 1 } }] }),
    );
    const log = await load.stop();
    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('rolled-back');
    expect(result.rollbacks).toHaveLength(1);
    expect(result.rollbacks[0].branch).toBe('backfill-or-verify-incomplete');
    expect(result.rollbacks[0].cause).toMatch(/parity cannot be reached/);
    expect(result.rollbacks[0].endedInMode).toBe('memory only');
    expect((await getControl(env.db.pool, 'memory_records'))?.mode.persistence).toBe('memory');
    expect(result.parity.some((p) => !p.match && p.drift.missing > 0)).toBe(true);
    // Non-destructive: what was back-filled stays in Postgres.
    const kept = await env.db.pool.query('SELECT count(*)::int AS n FROM memory_records');
    expect(kept.rows[0].n).toBeGreaterThan(1000);
    const verdict = await env.oracleAgainstInstances(log);
    expectNothingLost(verdict);
    await env.db.pool.query('DROP TRIGGER swallow_some ON memory_records; DROP FUNCTION swallow_some()');
  });

  it('pauses for an operator when the safe migration fails with a SQL error, and goes on after the fix and a retry', async () => {
    // Fault: the helper's signature was changed by hand (return type), so re-applying 002 fails.
    await env.db.pool.query(`
      DROP FUNCTION create_monthly_partition(date, text);
      CREATE FUNCTION create_monthly_partition(month date, parent text DEFAULT 'memory_records') RETURNS void LANGUAGE plpgsql AS $$
      BEGIN EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
        'memory_records_' || to_char(month, 'YYYY_MM'), parent, date_trunc('month', month)::date, (date_trunc('month', month) + interval '1 month')::date); END $$;`);
    const taskQueue = temporal.taskQueue('prod-migrate');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const load = env.startLoad(120);
    const result = await w.runUntil((async () => {
      const handle = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId: `prod-migrate-${taskQueue}`, args: [base] });
      const waiting = await waitForStatus(handle, (s) => s.state === 'waiting-for-operator');
      expect(waiting.phase).toBe('migrate');
      expect(waiting.waitingOn).toMatch(/002_partitions\.sql failed \(SQLSTATE 42P13\)/);
      // While it waits, the app is still in dual-write with memory primary.
      expect((await getControl(env.db.pool, 'memory_records'))?.mode).toMatchObject({ persistence: 'dual-write', primary: 'memory' });
      await env.db.pool.query('DROP FUNCTION create_monthly_partition(date, text)');
      await handle.executeUpdate(resumeUpdate, { args: [{ operator: 'carol', reason: 'restored the helper function', decision: 'retry' }] });
      return (await handle.result()) as ProductionCutoverResult;
    })());
    const log = await load.stop();
    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
    expect(result.migrate?.helperExists).toBe(true);
    expect(result.decisions).toContainEqual(expect.objectContaining({ action: 'resume', operator: 'carol', reason: 'restored the helper function' }));
    const verdict = await env.oracleAgainstPostgres(log);
    expectNothingLost(verdict);
  });
});
