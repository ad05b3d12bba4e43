import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { resolveTimeSkippingServer } from '../../src/devenv/temporal-cli';
import { createActivities } from '../../activities';
import { createProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';
import { useCutoverEnv } from '../helpers/cutover-env';
import { approveSignal } from '../../workflows/messages';
import type { ProductionCutoverResult } from '../../workflows/production';
import { setModeAndWait } from '../../src/memory-layer/control-plane';
import { temporal } from '@temporalio/proto';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';

// The runbook's 24–48 h monitoring windows, for real, on the time-skipping test server.
const env = useCutoverEnv({ instances: 2, seed: 300, months: 2 });
let tenv: TestWorkflowEnvironment;

beforeAll(async () => {
  const server = await resolveTimeSkippingServer();
  tenv = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: server.path } } });
  // The test server starts without the project's search attributes; register them as `cutover setup` does.
  const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await tenv.connection.operatorService.addSearchAttributes({
    namespace: tenv.namespace ?? 'default',
    searchAttributes: Object.fromEntries(CUSTOM_SEARCH_ATTRIBUTES.map((sa) => [sa.name, KEYWORD])),
  });
});
afterAll(async () => {
  await tenv?.teardown();
});

async function runCutover(id: string, input: Record<string, unknown>, during?: (h: ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>) => Promise<void>): Promise<ProductionCutoverResult> {
  // Each run starts from memory-only (the previous one ended in Postgres-only).
  await setModeAndWait(env.db.pool, { target: 'memory_records', mode: { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: false }, actor: 'test', reason: 'reset between runs', timeoutMs: 20_000 });
  await env.db.pool.query('DELETE FROM cutover_runs');
  const profiles = createProfileResolver({ default: env.db.url });
  const worker = await Worker.create({
    connection: tenv.nativeConnection,
    taskQueue: id,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: createActivities({ profiles, secrets: createSecretResolver({ default: env.apps.adminToken }) }),
  });
  try {
    return await worker.runUntil(async () => {
      const handle = await tenv.client.workflow.start('productionCutover', { taskQueue: id, workflowId: id, args: [input] });
      if (during) await during(handle);
      return (await handle.result()) as ProductionCutoverResult;
    });
  } finally {
    await profiles.close();
  }
}

const noGates = { beforeSwitchPrimary: false, beforeFinalCutover: false };

describe('productionCutover monitoring windows on the time-skipping server', () => {
  it('runs the default 24 h window with a health check every 5 minutes, then the final cutover', async () => {
    const result = await runCutover('ts-24h', { approvals: noGates });
    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
    expect(result.monitoring.endedBy).toBe('window elapsed');
    expect(result.monitoring.checks).toBe(288); // 24 h / 5 min
    const monitoring = result.phases.find((p) => p.phase === 'monitoring')!;
    expect(Date.parse(monitoring.endedAt!) - Date.parse(monitoring.startedAt)).toBeGreaterThanOrEqual(24 * 3600_000);
    expect(result.finalMode.persistence).toBe('postgres');
  });

  it('runs a 48 h window to the final cutover', async () => {
    const result = await runCutover('ts-48h', { approvals: noGates, monitoring: { windowMinutes: 2880, healthCheckEveryMinutes: 15 } });
    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
    expect(result.monitoring.checks).toBe(192); // 48 h / 15 min
    const monitoring = result.phases.find((p) => p.phase === 'monitoring')!;
    expect(Date.parse(monitoring.endedAt!) - Date.parse(monitoring.startedAt)).toBeGreaterThanOrEqual(48 * 3600_000);
  });

  it('ends the monitoring window early on an operator\'s approval', async () => {
    const result = await runCutover('ts-early', { approvals: noGates, monitoring: { windowMinutes: 1440, healthCheckEveryMinutes: 60 } }, async (handle) => {
      // Let a few hours of the window pass (time skips while the workflow waits), then approve.
      await tenv.sleep('3 hours');
      await handle.signal(approveSignal, { operator: 'erin', reason: 'metrics clean for 3 h, change window closing', gate: 'end-monitoring' });
    });
    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
    expect(result.monitoring.endedBy).toBe('approval by erin');
    expect(result.monitoring.checks).toBeLessThan(24);
    expect(result.decisions).toContainEqual(expect.objectContaining({ action: 'approve', operator: 'erin', gate: 'end-monitoring' }));
  });
});
