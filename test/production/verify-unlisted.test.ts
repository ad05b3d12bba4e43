import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { monthsBetween } from '../../activities/lib/months';
import { createProfileResolver, type ProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';
import { setModeAndWait } from '../../src/memory-layer/control-plane';
import { startApps, type RunningApps } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';
import { call } from '../memory-layer/http';

const db = useTestDatabase('partitioned');
let apps: RunningApps;
let profiles: ProfileResolver;
let acts: ReturnType<typeof createActivities>;
const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> => new MockActivityEnvironment().run(fn, ...args) as Promise<R>;

beforeAll(async () => {
  apps = await startApps(2, { dbUrl: db.url, heartbeatMs: 300, prefix: 'unlisted' });
  profiles = createProfileResolver({ default: db.url });
  acts = createActivities({ profiles, secrets: createSecretResolver({ default: apps.adminToken }) });
});
afterAll(async () => {
  await apps?.stopAll();
  await profiles?.close();
});

describe('verify with deleteExtras and a fleet member the run does not list', () => {
  it('keeps the Postgres rows an instance started after preflight dual-wrote, and still deletes a row nobody holds', async () => {
    await setModeAndWait(db.pool, {
      target: 'memory_records',
      mode: { persistence: 'dual-write', primary: 'memory', failFast: false, dualWriteEnabled: true },
      actor: 'test',
      reason: 'verify',
      timeoutMs: 10_000,
    });
    const [listed, newcomer] = apps.instances;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await call(newcomer.url, 'POST', '/records', { ownerId: 'n', content: `newcomer ${i}` })).body.id);
    expect((await call(listed.url, 'POST', '/records', { ownerId: 'l', content: 'listed' })).status).toBe(201);
    const orphan = crypto.randomUUID();
    await db.pool.query(
      `INSERT INTO memory_records (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at) VALUES ($1, 'x', NULL, 'note', 'nobody holds this', '{}', date_trunc('milliseconds', now()), date_trunc('milliseconds', now()))`,
      [orphan],
    );
    const [range] = monthsBetween(new Date(), new Date());
    const r = await run(acts.verifyMonth, {
      connectionProfile: 'default',
      table: 'memory_records',
      apps: { adminTokenRef: 'default' },
      instances: [{ instanceId: listed.instanceId, adminUrl: listed.url }],
      range,
      repair: true,
      deleteExtras: true,
      graceMs: 200,
    });
    expect(r.keptForUnlisted).toBe(5);
    expect(r.drift.extra).toBe(1);
    const left = await db.pool.query<{ id: string }>('SELECT id::text FROM memory_records WHERE id = ANY($1::uuid[])', [[...ids, orphan]]);
    expect(left.rows.map((x) => x.id).sort()).toEqual([...ids].sort());
  });
});
