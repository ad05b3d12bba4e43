import { afterAll, describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { expectNothingLost, QUICK_RUN, MEMORY_ONLY, useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { waitForStatus } from '../helpers/status';
import { spawnAppProcess, type SpawnedApp } from '../helpers/app';
import { seedRecords } from '../../src/loadgen/seed';
import { CutoverRejectedError, getCutoverHandle } from '../../src/client';
import { buildAuditReport } from '../../src/audit/report';
import { HEARTBEAT_TTL_MS } from '../../src/shared/pg-catalog';
import type { ProductionCutoverResult } from '../../workflows/production';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 600, months: 3 });
let gone: SpawnedApp | undefined;
afterAll(async () => {
  gone?.kill('SIGCONT');
  gone?.kill('SIGKILL');
  await gone?.exited;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (e instanceof CutoverRejectedError ? e.message : `not a rejection: ${String(e)}`));

/**
 * Issue 11: the final cutover (after which memory is not kept) is refused while a fleet member
 * has not acknowledged the latest epoch. A member frozen for the whole run makes the run wait
 * for an operator, naming it; `forgetInstance` (recorded in the history and the audit report)
 * declares it gone, and the run completes.
 */
describe('productionCutover: a member silent for the whole run', () => {
  it('waits before the final cutover naming it, and completes after an operator forgets it', async () => {
    gone = await spawnAppProcess({ dbUrl: env.db.url, adminToken: env.apps.adminToken, instanceId: 'silent-member', bootMode: MEMORY_ONLY, env: { LICHEN_HEARTBEAT_MS: '500' } });
    await seedRecords([gone.url], { count: 40, months: 2, owners: 5, adminToken: env.apps.adminToken });
    gone.kill('SIGSTOP');
    await sleep(HEARTBEAT_TTL_MS + 1_500);

    const taskQueue = temporal.taskQueue('prod-member-forget');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const load = env.startLoad(80);
    const workflowId = `prod-member-forget-${taskQueue}`;
    const h = getCutoverHandle<ProductionCutoverResult>(temporal.client, workflowId);
    const result = await w.runUntil((async () => {
      const input = { ...QUICK_RUN, health: { maxLatencyRatio: 50, latencyFloorMs: 100 } };
      const raw = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId, args: [input] });
      const waiting = await waitForStatus(raw, (s) => s.state === 'waiting-for-operator', 240_000);
      expect(waiting.waitingOn).toMatch(/the final cutover is refused while fleet members have not acknowledged epoch \d+: silent-member \(last heartbeat \d{4}-\d\d-\d\dT[^,]+, applied epoch 0, silent/);
      expect(waiting.waitingOn).toMatch(/forgetInstance/);
      // Refused, naming why: a malformed id, an unknown one, a live instance.
      expect(await refusal(h.forgetInstance({ operator: 'hal', reason: 'typo', instanceId: 'no such; drop' }))).toMatch(/instanceId: required/);
      expect(await refusal(h.forgetInstance({ operator: 'hal', reason: 'wrong one', instanceId: 'nobody-here' }))).toMatch(/nobody-here/);
      const live = env.apps.instances[0].instanceId;
      expect(await refusal(h.forgetInstance({ operator: 'hal', reason: 'wrong one', instanceId: live }))).toMatch(new RegExp(`${live}.*live`));
      // Resuming without a change keeps waiting (the member is still silent).
      await h.resume({ operator: 'hal', reason: 'try again', decision: 'retry' });
      await waitForStatus(raw, (s) => s.state === 'waiting-for-operator' && s.decisions.length >= 1, 60_000);
      const ack = await h.forgetInstance({ operator: 'hal', reason: 'host decommissioned, its disk is gone', instanceId: 'silent-member' });
      expect(ack.message).toMatch(/instance silent-member declared gone .*its memory-only records are given up/);
      await h.resume({ operator: 'hal', reason: 'silent-member forgotten', decision: 'retry' });
      return (await raw.result()) as ProductionCutoverResult;
    })());
    const log = await load.stop();

    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
    expect(result.finalMode).toMatchObject({ persistence: 'postgres' });
    expect(result.membership?.forgotten).toEqual([expect.objectContaining({ instanceId: 'silent-member', operator: 'hal', appliedEpoch: 0 })]);
    expect(result.decisions.filter((d) => d.action === 'forget-instance')).toEqual([expect.objectContaining({ operator: 'hal', reason: 'host decommissioned, its disk is gone' })]);
    const audit = buildAuditReport(await h.raw.fetchHistory(), { workflowId });
    expect(audit.decisions.filter((d) => d.action === 'forgetInstance' && d.accepted)).toEqual([
      expect.objectContaining({ operator: 'hal', detail: expect.stringMatching(/silent-member declared gone/) }),
    ]);
    // Everything the live instances acknowledged is in Postgres (the forgotten member's records are the documented cost).
    expectNothingLost(await env.oracleAgainstPostgres(log));
  });
});
