import { describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { expectNothingLost, useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import type { ProductionCutoverInput } from '../../workflows/production-input';
import type { ProductionCutoverResult } from '../../workflows/production';
import { getControl } from '../../src/memory-layer/control-plane';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 2000, months: 5 });

const RUNBOOK_ORDER = [
  'preflight',
  'ensure schema',
  'enable dual-write (memory primary)',
  'backfill',
  'verify',
  'migrate',
  'switch primary to postgres',
  'monitoring',
  'verify and repair before the final cutover',
  'final cutover',
  'summary',
];

describe('productionCutover on the real dev server and Postgres, under continuous load', () => {
  it('carries memory_records from memory to partitioned Postgres and loses nothing', async () => {
    const taskQueue = temporal.taskQueue('prod');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const load = env.startLoad(200);
    const input: ProductionCutoverInput = {
      nonProduction: true,
      monitoring: { windowMinutes: 0.2, healthCheckEveryMinutes: 0.05 },
      approvals: { beforeSwitchPrimary: false, beforeFinalCutover: false },
      backfill: { batchSize: 250, chunkRows: 600, parallelism: 2 },
      health: { maxLatencyRatio: 50 },
    };
    const result: ProductionCutoverResult = await w.runUntil(
      temporal.client.workflow.execute('productionCutover', { taskQueue, workflowId: `prod-happy-${taskQueue}`, args: [input] }),
    );
    const log = await load.stop();
    expect(load.handle.stats().acked).toBeGreaterThan(1000);

    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
    expect(result.finalMode).toEqual({ persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false });
    const control = await getControl(env.db.pool, 'memory_records');
    expect(control?.mode.persistence).toBe('postgres');
    expect(result.backfill.rows).toBeGreaterThanOrEqual(2000);
    expect(result.parity.length).toBeGreaterThanOrEqual(5);
    expect(result.parity.every((p) => p.match)).toBe(true);
    expect(result.monitoring.checks).toBeGreaterThanOrEqual(1);
    expect(result.migrate?.helperExists).toBe(true);

    // The history reads like the runbook: its phases, in its order.
    const phases = result.phases.map((p) => p.phase);
    expect(phases).toEqual(RUNBOOK_ORDER);

    const verdict = await env.oracleAgainstPostgres(log);
    expect(verdict.checked).toBeGreaterThan(2000);
    expectNothingLost(verdict);
  });
});
