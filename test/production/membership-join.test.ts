import { afterAll, describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { expectNothingLost, QUICK_RUN, MEMORY_ONLY, useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { waitForStatus } from '../helpers/status';
import { spawnAppProcess, type SpawnedApp } from '../helpers/app';
import { seedRecords } from '../../src/loadgen/seed';
import { getCutoverHandle } from '../../src/client';
import { getControl } from '../../src/memory-layer/control-plane';
import { HEARTBEAT_TTL_MS } from '../../src/shared/pg-catalog';
import type { ProductionCutoverResult } from '../../workflows/production';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 800, months: 3 });
let frozen: SpawnedApp | undefined;
afterAll(async () => {
  frozen?.kill('SIGCONT');
  frozen?.kill('SIGKILL');
  await frozen?.exited;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Issue 11, membership in the run: an instance holding Phase 2 records is frozen (SIGSTOP)
 * across preflight, so preflight cannot read it; it is thawed while the switch-primary gate is
 * open. The run must find it before it switches the primary, back-fill and verify its records,
 * and complete with every acknowledged record in Postgres.
 */
describe('productionCutover: an instance frozen across preflight', () => {
  it('is back-filled and verified when it answers again, before the primary is switched', async () => {
    frozen = await spawnAppProcess({ dbUrl: env.db.url, adminToken: env.apps.adminToken, instanceId: 'frozen-at-preflight', bootMode: MEMORY_ONLY, env: { LICHEN_HEARTBEAT_MS: '500' } });
    const frozenLog = await seedRecords([frozen.url], { count: 300, months: 3, owners: 10, adminToken: env.apps.adminToken });
    frozen.kill('SIGSTOP');
    await sleep(HEARTBEAT_TTL_MS + 1_500); // silent: past the heartbeat TTL

    const taskQueue = temporal.taskQueue('prod-member-join');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const load = env.startLoad(80);
    const workflowId = `prod-member-join-${taskQueue}`;
    const result = await w.runUntil((async () => {
      const input = { ...QUICK_RUN, health: { maxLatencyRatio: 50, latencyFloorMs: 100 }, approvals: { beforeSwitchPrimary: true, beforeFinalCutover: false } };
      const raw = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId, args: [input] });
      const gate = await waitForStatus(raw, (s) => s.state === 'waiting-for-approval', 180_000);
      expect(gate.notes.join('\n')).toMatch(/preflight: 2 instances/);
      // Thawed while the gate is open: it applies the current epoch (dual-write) on its own.
      frozen!.kill('SIGCONT');
      const epoch = (await getControl(env.db.pool, 'memory_records'))!.epoch;
      for (let i = 0; i < 100; i++) {
        const r = await env.db.pool.query<{ e: string }>(`SELECT applied_epoch AS e FROM cutover_instances WHERE instance_id = 'frozen-at-preflight'`);
        if (Number(r.rows[0]?.e) >= epoch) break;
        await sleep(200);
      }
      await getCutoverHandle(temporal.client, workflowId).approve({ operator: 'gina', reason: 'parity verified, switch', gate: 'switch-primary' });
      return (await raw.result()) as ProductionCutoverResult;
    })());
    const log = await load.stop();

    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
    expect(result.preflight?.instances).toHaveLength(2);
    expect(result.membership?.joined).toEqual([{ instanceId: 'frozen-at-preflight', before: 'switch of the primary' }]);
    const phases = result.phases.map((p) => p.phase);
    expect(phases.indexOf('back-fill joined instances before the switch of the primary'), phases.join(', ')).toBeGreaterThan(-1);
    expect(phases.indexOf('switch primary to postgres')).toBeGreaterThan(phases.indexOf('back-fill joined instances before the switch of the primary'));
    // Every barrier recorded who acknowledged it; the last one includes the member that came back.
    const last = result.membership!.barriers.at(-1)!;
    expect(last.acknowledged).toContain('frozen-at-preflight');
    // Every record it acknowledged before the freeze is in Postgres, with everything else.
    expectNothingLost(await env.oracleAgainstPostgres(log.merge(frozenLog)));
  });
});
