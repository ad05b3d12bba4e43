import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { compare, type MetricsSnapshot } from '../../activities/production/health';
import { createVerifyActivities } from '../../activities/production/verify';
import { AdminClient, LOOKUP_CHUNK } from '../../activities/lib/admin-client';
import { createProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';
import { upsertRecords } from '../../src/memory-layer/storage/pg-store';
import { startApps, type RunningApps } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';
import { call } from '../memory-layer/http';

const db = useTestDatabase('partitioned');
let apps: RunningApps;
beforeAll(async () => {
  apps = await startApps(1, { dbUrl: db.url, heartbeatMs: 500 });
});
afterAll(async () => {
  await apps?.stopAll();
});

const snap = (...xs: [string, number, number][]): MetricsSnapshot => ({
  // [instance, failures, writes]: every write in the 5 ms bucket.
  instances: xs.map(([instanceId, failures, writes]) => ({ instanceId, failures, buckets: [[0.005, writes], ['inf', writes]] })),
});

describe('health arithmetic', () => {
  it('takes deltas per instance: a restarted instance never hides another one\'s failures', () => {
    // b restarted (its counters went from 500 failures to 2): a's 30 new failures must show.
    const c = compare(snap(['a', 10, 1000], ['b', 500, 9000]), snap(['a', 40, 1500], ['b', 2, 100]));
    expect(c.countersReset).toEqual(['b']);
    expect(c.failuresDelta).toBe(30 + 2);
    expect(c.writes).toBe(500 + 100);
    expect(c.p99Ms).toBeGreaterThan(0);
  });

  it('counts an instance that was not there before from zero, and nothing when nothing changed', () => {
    expect(compare(snap(['a', 5, 10]), snap(['a', 5, 10], ['new', 3, 7]))).toMatchObject({ failuresDelta: 3, writes: 7, countersReset: [] });
    expect(compare(snap(['a', 5, 10]), snap(['a', 5, 10]))).toMatchObject({ failuresDelta: 0, writes: 0, p99Ms: null, countersReset: [] });
  });

  it('a reset seen only in the latency histogram is a reset too', () => {
    const c = compare(snap(['a', 0, 1000]), snap(['a', 0, 10]));
    expect(c).toMatchObject({ countersReset: ['a'], writes: 10, failuresDelta: 0 });
  });
});

describe('parity samples of any allowed size', () => {
  it('looks up 5000 ids on an instance (the maximum paritySample) without a 431', async () => {
    const [a] = apps.instances;
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await call(a.url, 'POST', '/records', { ownerId: 'ps', content: `c${i}` })).body.id);
    const ids = [...made, ...Array.from({ length: 4995 }, () => crypto.randomUUID())];
    const found = await new AdminClient({ instanceId: a.instanceId, adminUrl: a.url }, apps.adminToken).lookup(ids);
    expect(found.records.map((r) => r.id).sort()).toEqual([...made].sort());
    expect(ids.length / LOOKUP_CHUNK).toBeGreaterThan(20);
  });
});

describe('verify compares content, not only versions', () => {
  it('finds and repairs a Postgres row with the same updated_at and other content', async () => {
    const [a] = apps.instances;
    const createdAt = new Date(Date.UTC(2024, 4, 10));
    const r = await call(a.url, 'POST', '/records', { ownerId: 'v', content: 'truth', metadata: { k: [1, { z: 1, a: 2 }] }, createdAt: createdAt.toISOString() });
    const rec = a.service.memory.getSync(r.body.id)!;
    // Same version in Postgres, other content; and an identical copy of the record beside it.
    const twin = (await call(a.url, 'POST', '/records', { ownerId: 'v', content: 'same', metadata: { b: 1, a: 2 }, createdAt: createdAt.toISOString() })).body.id;
    await db.withClient((c) => upsertRecords(c, [{ ...rec, content: 'tampered' }, a.service.memory.getSync(twin)!]));
    const profiles = createProfileResolver({ default: db.url });
    try {
      const verify = createVerifyActivities({ profiles, secrets: createSecretResolver({ default: apps.adminToken }) });
      const input = {
        connectionProfile: 'default', table: 'memory_records', apps: { adminTokenRef: 'default' },
        instances: [{ instanceId: a.instanceId, adminUrl: a.url }],
        range: { month: '2024-05', from: '2024-05-01T00:00:00.000Z', to: '2024-06-01T00:00:00.000Z' },
        deleteExtras: true, graceMs: 0,
      };
      const env = new MockActivityEnvironment();
      const first = await env.run(verify.verifyMonth, { ...input, repair: false });
      expect(first).toMatchObject({ match: false, drift: { missing: 0, stale: 1, extra: 0 } });
      const fixed = await env.run(verify.verifyMonth, { ...input, repair: true });
      expect(fixed).toMatchObject({ match: false, repaired: 1 });
      const after = await env.run(verify.verifyMonth, { ...input, repair: false });
      expect(after).toMatchObject({ match: true, drift: { missing: 0, stale: 0, extra: 0 } });
      expect((await db.pool.query(`SELECT content FROM memory_records WHERE id = $1`, [rec.id])).rows[0].content).toBe('truth');
    } finally {
      await profiles.close();
    }
  });
});
