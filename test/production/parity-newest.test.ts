import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { createProfileResolver, type ProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';
import { setModeAndWait } from '../../src/memory-layer/control-plane';
import { startApps, type RunningApps } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';
import { failWrites } from '../helpers/write-faults';
import { call } from '../memory-layer/http';

const db = useTestDatabase('partitioned');
let apps: RunningApps;
let profiles: ProfileResolver;
let acts: ReturnType<typeof createActivities>;
const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> => new MockActivityEnvironment().run(fn, ...args) as Promise<R>;

beforeAll(async () => {
  apps = await startApps(1, { dbUrl: db.url, heartbeatMs: 300, prefix: 'parity' });
  profiles = createProfileResolver({ default: db.url });
  acts = createActivities({ profiles, secrets: createSecretResolver({ default: apps.adminToken }) });
});
afterAll(async () => {
  await apps?.stopAll();
  await profiles?.close();
});

describe('the health check’s sampled parity', () => {
  it('reads the newest writes of its window: a record Postgres missed a moment ago is seen among hundreds of older ones', async () => {
    await setModeAndWait(db.pool, {
      target: 'memory_records',
      mode: { persistence: 'dual-write', primary: 'memory', failFast: false, dualWriteEnabled: true },
      actor: 'test',
      reason: 'parity',
      timeoutMs: 10_000,
    });
    const url = apps.instances[0].url;
    for (let i = 0; i < 200; i++) expect((await call(url, 'POST', '/records', { ownerId: 'p', content: `old ${i}` })).status).toBe(201);
    const fault = await failWrites(db.pool);
    let lost: string;
    try {
      const r = await call(url, 'POST', '/records', { ownerId: 'p', content: 'Postgres missed this one' });
      expect(r.status).toBe(201); // memory is primary: acknowledged, the dual-write failed
      lost = r.body.id;
    } finally {
      await fault.undo();
    }
    const instances = apps.instances.map((i) => ({ instanceId: i.instanceId, adminUrl: i.url }));
    const spec = { adminTokenRef: 'default' };
    const previous = await run(acts.metricsSnapshot, { apps: spec, instances });
    const report = await run(acts.healthCheck, {
      connectionProfile: 'default',
      table: 'memory_records',
      apps: spec,
      instances,
      previous,
      baselineP99Ms: null,
      thresholds: { maxDualWriteFailures: 1_000, maxLatencyRatio: 100, latencyFloorMs: 100, paritySample: 20 },
      graceMs: 200,
    });
    expect(report.parity.samples).toContain(lost);
    expect(report.parity.drift).toBe(1);
  });
});
