import { describe, expect, it } from 'vitest';
import { WorkflowFailedError, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { useTemporal } from '../helpers/temporal';
import { useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { waitForStatus } from '../helpers/status';
import { abortUpdate } from '../../workflows/messages';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 200, months: 2 });

async function databaseFingerprint(): Promise<string> {
  const r = await env.db.pool.query(`SELECT
    (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace) AS rels,
    (SELECT count(*) FROM cutover_runs) AS runs,
    (SELECT count(*) FROM cutover_control) AS controls,
    (SELECT string_agg(applied_epoch::text, ',' ORDER BY instance_id) FROM cutover_instances) AS epochs`);
  return JSON.stringify(r.rows[0]);
}

const INVALID: [string, unknown, RegExp][] = [
  ['wrong type for the window', { monitoring: { windowMinutes: '24h' } }, /monitoring\.windowMinutes: must be an integer/],
  ['a window shorter than 24 h without nonProduction', { monitoring: { windowMinutes: 60 } }, /monitoring\.windowMinutes: .*1440/],
  ['a negative window', { nonProduction: true, monitoring: { windowMinutes: -5 } }, /monitoring\.windowMinutes/],
  ['a window over 48 h', { monitoring: { windowMinutes: 5000 } }, /monitoring\.windowMinutes/],
  ['an unknown target', { target: 'users' }, /target: unknown target; supported: memory_records/],
  ['SQL in the target', { target: 'memory_records; drop table x' }, /target:/],
  ['a password instead of a profile', { connectionProfile: 'postgres://u:secret@db/x' }, /connectionProfile:/],
  ['malformed thresholds', { health: { maxLatencyRatio: 'high' } }, /health\.maxLatencyRatio: must be a number/],
  ['a threshold below its range', { health: { maxLatencyRatio: 0.5 } }, /health\.maxLatencyRatio/],
  ['an unknown field (typo)', { monitoringWindow: 1440 }, /monitoringWindow: unknown field/],
  ['a nested unknown field', { approvals: { beforeSwitch: false } }, /approvals\.beforeSwitch: unknown field/],
  ['a batch size of zero', { backfill: { batchSize: 0 } }, /backfill\.batchSize/],
  ['static discovery without endpoints', { apps: { discovery: 'static' } }, /apps\.endpoints: required/],
  ['an input that is not an object', ['memory_records'], /input: must be one JSON object/],
  ['a boolean given as a string', { dryRun: 'yes' }, /dryRun: must be true or false/],
];

describe('productionCutover start guards', () => {
  it.each(INVALID)('rejects %s at start, naming the field, with nothing changed', async (_name, input, message) => {
    const before = await databaseFingerprint();
    const taskQueue = temporal.taskQueue('prod-invalid');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const err = await w.runUntil(temporal.client.workflow.execute('productionCutover', { taskQueue, workflowId: `prod-invalid-${taskQueue}`, args: [input as never] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('InvalidInput');
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    expect((cause as ApplicationFailure).message).toMatch(message);
    expect(await databaseFingerprint()).toBe(before);
  });

  it('refuses a second run for the same target: by workflow id, and by Postgres for another id', async () => {
    const taskQueue = temporal.taskQueue('prod-dup');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    await w.runUntil((async () => {
      const input = { nonProduction: true, monitoring: { windowMinutes: 10 }, approvals: { beforeBackfill: true } };
      const first = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId: `cutover-production-memory_records-${taskQueue}`, args: [input] });
      await waitForStatus(first, (s) => s.state === 'waiting-for-approval');
      // Same workflow id: the server refuses.
      await expect(temporal.client.workflow.start('productionCutover', { taskQueue, workflowId: first.workflowId, args: [input] })).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
      // Another id: Postgres refuses (one active run per target) before anything changes.
      const err = await temporal.client.workflow.execute('productionCutover', { taskQueue, workflowId: `other-${taskQueue}`, args: [input] }).catch((e: unknown) => e);
      const cause = (err as WorkflowFailedError).cause?.cause as ApplicationFailure;
      expect(cause.type).toBe('RunAlreadyActive');
      expect(cause.message).toContain(`another run is active for memory_records: productionCutover workflow ${first.workflowId}`);
      await first.executeUpdate(abortUpdate, { args: [{ operator: 'dana', reason: 'test cleanup' }] });
      await first.result();
    })());
    const runs = await env.db.pool.query(`SELECT status FROM cutover_runs ORDER BY started_at`);
    expect(runs.rows.map((r) => r.status)).toEqual(['aborted']);
  });

  it('a dry run plans and counts the backfill and changes nothing', async () => {
    await env.db.pool.query('DELETE FROM cutover_runs');
    const before = await databaseFingerprint();
    const taskQueue = temporal.taskQueue('prod-dry');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const result = await w.runUntil(temporal.client.workflow.execute('productionCutover', { taskQueue, workflowId: `prod-dry-${taskQueue}`, args: [{ dryRun: true }] }));
    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('dry-run');
    expect(result.backfill.rows).toBeGreaterThanOrEqual(200);
    expect(result.backfill.written).toBe(0);
    const after = JSON.parse(await databaseFingerprint());
    const b = JSON.parse(before);
    expect(after).toEqual(b);
  });
});
