import { afterAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { useTemporal } from '../helpers/temporal';
import { useTestDatabase } from '../helpers/db';
import { CORPUS, transportableCases, type WorkflowName } from '../hostile/corpus';
import { killAllWorkers, scenario, spawnChaosWorker } from './lib';

const temporal = useTemporal();
const db = useTestDatabase('control');
afterAll(killAllWorkers);

async function fingerprint(): Promise<string> {
  const r = await db.pool.query(`SELECT
    (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace) AS rels,
    (SELECT count(*) FROM cutover_runs) AS runs, (SELECT count(*) FROM cutover_control) AS controls,
    (SELECT count(*) FROM cutover_instances) AS instances`);
  return JSON.stringify(r.rows[0]);
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T>(items: T[], width: number, fn: (t: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i], i);
  }));
}

describe('hostile start inputs through the real server: rejected at start, no activity, the worker keeps going', () => {
  it.each(Object.keys(CORPUS) as WorkflowName[])('%s: every transportable case is an InvalidInput failure naming the field', async (wf) => {
    await scenario(`hostile inputs, end to end (${wf})`, async () => {
      const taskQueue = temporal.taskQueue(`hostile-${wf}`);
      const worker = await spawnChaosWorker({ taskQueue, dbUrl: db.url, adminToken: 'tok_hostile_not_a_secret', label: `hostile-${wf}` });
      const before = await fingerprint();
      const cases = transportableCases(wf);
      expect(cases.length).toBeGreaterThanOrEqual(40);
      const problems: string[] = [];
      await pool(cases, 6, async (c, i) => {
        const handle = await temporal.client.workflow.start(wf, { taskQueue, workflowId: `hostile-${wf}-${i}-${taskQueue}`, args: [c.input as never], workflowExecutionTimeout: '2 minutes' });
        const err = await handle.result().then(() => undefined, (e: unknown) => e);
        const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
        if (!(cause instanceof ApplicationFailure) || cause.type !== 'InvalidInput' || !cause.nonRetryable || !cause.message.startsWith(`invalid input: ${c.field}: `)) {
          problems.push(`${c.name}: ${err === undefined ? 'accepted' : String((cause ?? err as Error).message).slice(0, 200)}`);
          return;
        }
        const history = await handle.fetchHistory();
        const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes).length;
        if (scheduled > 0) problems.push(`${c.name}: ${scheduled} activities scheduled`);
        // The failure happened on the first workflow task: the worker did not crash on it.
        if (worker.child.exitCode !== null || worker.child.signalCode !== null) problems.push(`${c.name}: the worker exited`);
      });
      expect(problems).toEqual([]);
      expect(worker.child.exitCode).toBeNull();
      expect(await fingerprint()).toBe(before);
      await worker.kill();
      return { dataLost: null, detail: `${cases.length} cases` };
    });
  });

});
