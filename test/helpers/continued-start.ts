import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { inject, expect } from 'vitest';
import type { Pool } from 'pg';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { resolveTemporalCli } from '../../src/devenv/temporal-cli';
import { fetchRunChain } from '../../src/audit/chain';
import type { TestTemporal } from './temporal';

/**
 * Issue 24 item 1: a `continued` copied from a real chain, started the way a new user would —
 * through the official `temporal` CLI — must fail at once naming the field, with nothing changed.
 */

/** The input of the newest run of `workflowId`'s chain: the original input plus the `continued` a hand-over wrote. */
export async function continuedInputOf(client: Client, workflowId: string): Promise<Record<string, unknown>> {
  const chain = await fetchRunChain(client.workflow, workflowId);
  expect(chain.length, 'the chain handed over at least once').toBeGreaterThan(1);
  const started = chain[chain.length - 1].events?.[0]?.workflowExecutionStartedEventAttributes as { input?: { payloads?: unknown[] } } | undefined;
  const input = defaultPayloadConverter.fromPayload(started!.input!.payloads![0] as never) as Record<string, unknown>;
  expect(input.continued, 'the newest run of the chain carries continued').toBeDefined();
  return input;
}

/** `temporal workflow start … --input '<json>'` against the tests' dev server. */
export async function startWithTemporalCli(temporal: TestTemporal, o: { type: string; taskQueue: string; workflowId: string; input: unknown }): Promise<void> {
  const cli = await resolveTemporalCli();
  await promisify(execFile)(cli.path, [
    'workflow', 'start',
    '--address', inject('temporalAddress'),
    '--namespace', temporal.namespace,
    '--task-queue', o.taskQueue,
    '--type', o.type,
    '--workflow-id', o.workflowId,
    '--input', JSON.stringify(o.input),
  ], { timeout: 60_000 });
}

/**
 * The run FAILED (not a workflow task failing for ever) with the non-retryable InvalidInput
 * failure naming `continued`, and ran nothing: no activity was scheduled.
 */
export async function expectRefusedNamingContinued(client: Client, workflowId: string): Promise<string> {
  const handle = client.workflow.getHandle(workflowId);
  const err = await handle.result().then(() => undefined, (e: unknown) => e);
  expect(err, 'the run failed').toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe('InvalidInput');
  expect((cause as ApplicationFailure).nonRetryable).toBe(true);
  expect(cause!.message).toMatch(/^invalid input: continued(\.[a-z]+)?: /);
  expect((await handle.describe()).status.name).toBe('FAILED');
  const history = await handle.fetchHistory();
  const types = (history.events ?? []).map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes')));
  expect(types.filter((t) => t === 'activityTaskScheduledEventAttributes'), 'no activity ran').toEqual([]);
  expect(types.filter((t) => t === 'workflowTaskFailedEventAttributes'), 'no workflow task failed').toEqual([]);
  return cause!.message;
}

/** Tables, runs, modes and epochs: what a run that starts changing things changes first. */
export async function databaseFingerprint(pool: Pool): Promise<string> {
  const r = await pool.query(`SELECT
    (SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' ORDER BY n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND c.relkind IN ('r', 'p', 'v')) AS rels,
    (SELECT string_agg(run_id || ':' || status, ',' ORDER BY run_id) FROM cutover_runs) AS runs,
    (SELECT string_agg(target || ':' || persistence || '/' || dual_write_primary || '/' || epoch, ',' ORDER BY target) FROM cutover_control) AS controls,
    (SELECT string_agg(instance_id || ':' || applied_epoch, ',' ORDER BY instance_id) FROM cutover_instances) AS epochs,
    (SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal) AS triggers`);
  return JSON.stringify(r.rows[0]);
}
