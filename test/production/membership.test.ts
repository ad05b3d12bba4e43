import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { createProfileResolver, type ProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';
import type { PersistenceMode } from '../../workflows/types';
import { spawnAppProcess, startApps, type RunningApps } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';
import { call } from '../memory-layer/http';

const db = useTestDatabase('partitioned');
const TARGET = 'memory_records';
const DUAL_MEM: PersistenceMode = { persistence: 'dual-write', primary: 'memory', failFast: false, dualWriteEnabled: true };
let apps: RunningApps;
let profiles: ProfileResolver;
let acts: ReturnType<typeof createActivities>;
let silentId = '';
const stoppedId = 'member-stopped';
const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> => new MockActivityEnvironment().run(fn, ...args) as Promise<R>;
const common = () => ({ connectionProfile: 'default', target: TARGET });
const appsSpec = () => ({ discovery: 'control-plane' as const, endpoints: [], adminTokenRef: 'default' });

beforeAll(async () => {
  apps = await startApps(2, { dbUrl: db.url, heartbeatMs: 300, prefix: 'member' });
  profiles = createProfileResolver({ default: db.url });
  acts = createActivities({ profiles, secrets: createSecretResolver({ default: apps.adminToken }) });
  // An instance that acknowledged a record, then went silent (SIGKILL; its heartbeat is made
  // older than the TTL rather than waiting 10 s): registered, not stopped — still in the fleet.
  const silent = await spawnAppProcess({ dbUrl: db.url, adminToken: apps.adminToken, instanceId: 'member-silent' });
  silentId = silent.instanceId;
  expect((await call(silent.url, 'POST', '/records', { ownerId: 'm', content: 'only in its memory' })).status).toBe(201);
  silent.kill('SIGKILL');
  await silent.exited;
  await db.pool.query(`UPDATE cutover_instances SET last_heartbeat = now() - interval '1 minute' WHERE instance_id = $1`, [silentId]);
  // One that stopped cleanly: not in the fleet.
  const stopped = await spawnAppProcess({ dbUrl: db.url, adminToken: apps.adminToken, instanceId: stoppedId });
  stopped.kill('SIGTERM');
  await stopped.exited;
});
afterAll(async () => {
  await apps?.stopAll();
  await profiles?.close();
});

describe('membership: the fleet is every registered instance not cleanly stopped', () => {
  it('preflight lists the silent instance as unreachable (with its last heartbeat and applied epoch), not only the live ones', async () => {
    const pre = await run(acts.preflight, { ...common(), apps: appsSpec() });
    expect(pre.instances.map((i) => i.instanceId).sort()).toEqual(apps.instances.map((i) => i.instanceId).sort());
    expect(pre.unreachable.map((u) => u.instanceId)).toEqual([silentId]);
    expect(pre.unreachable[0]).toMatchObject({ live: false, appliedEpoch: 0, lastHeartbeat: expect.stringMatching(/^\d{4}-/), error: expect.stringContaining('unreachable') });
    expect(JSON.stringify(pre)).not.toContain(stoppedId);
  });

  it('a barrier returns the instances that acknowledged, and names the fleet members that did not', async () => {
    const r = await run(acts.changeMode, { ...common(), mode: DUAL_MEM, actor: 'test', reason: 'membership', timeoutSeconds: 20 });
    expect(r.acknowledged.sort()).toEqual(apps.instances.map((i) => i.instanceId).sort());
    expect(r.notAcknowledged.map((m) => m.instanceId)).toEqual([silentId]);
    const status = await run(acts.fleetStatus, { ...common(), epoch: r.epoch });
    expect(status.lagging.map((m) => m.instanceId)).toEqual([silentId]);
    expect(status.members.map((m) => m.instanceId).sort()).toEqual([...apps.instances.map((i) => i.instanceId), silentId].sort());
  });

  it('forgetInstance refuses a live instance, an unknown one and a missing operator, naming the field', async () => {
    const live = apps.instances[0].instanceId;
    await expect(run(acts.forgetInstance, { ...common(), instanceId: live, operator: 'ana', reason: 'x' })).rejects.toThrow(/is live .*cannot be forgotten/);
    await expect(run(acts.forgetInstance, { ...common(), instanceId: 'nobody', operator: 'ana', reason: 'x' })).rejects.toThrow(/no instance nobody is registered/);
    await expect(run(acts.forgetInstance, { ...common(), instanceId: stoppedId, operator: 'ana', reason: 'x' })).rejects.toThrow(/stopped cleanly/);
    await expect(run(acts.forgetInstance, { ...common(), instanceId: silentId, operator: ' ', reason: 'x' })).rejects.toThrow(/operator must be a non-empty string/);
  });

  it('forgetInstance takes a silent instance out of the fleet (idempotently, with operator and reason); a heartbeat brings it back', async () => {
    const f = await run(acts.forgetInstance, { ...common(), instanceId: silentId, operator: 'ana', reason: 'node lost' });
    expect(f).toMatchObject({ instanceId: silentId, forgottenBy: 'ana', reason: 'node lost', appliedEpoch: 0, already: false });
    const again = await run(acts.forgetInstance, { ...common(), instanceId: silentId, operator: 'bob', reason: 'again' });
    expect(again).toMatchObject({ forgottenBy: 'ana', reason: 'node lost', already: true });
    const r = await run(acts.changeMode, { ...common(), mode: DUAL_MEM, actor: 'test', reason: 'after forgetting', timeoutSeconds: 20 });
    expect(r.notAcknowledged).toEqual([]);
    expect((await run(acts.fleetStatus, { ...common(), epoch: r.epoch })).members.map((m) => m.instanceId)).not.toContain(silentId);
    const pre = await run(acts.preflight, { ...common(), apps: appsSpec() });
    expect(pre.unreachable).toEqual([]);
    // It heartbeats again (as a restarted process would): back in the fleet, lagging.
    await db.pool.query(`UPDATE cutover_instances SET last_heartbeat = now() WHERE instance_id = $1`, [silentId]);
    const back = await run(acts.fleetStatus, { ...common(), epoch: r.epoch });
    expect(back.lagging.map((m) => m.instanceId)).toEqual([silentId]);
  });
});
