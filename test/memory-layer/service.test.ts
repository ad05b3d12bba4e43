import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setModeAndWait } from '../../src/memory-layer/control-plane';
import { PgStore } from '../../src/memory-layer/storage/pg-store';
import type { PersistenceMode } from '../../workflows/types';
import { startApps, type RunningApps } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';
import { admin, call } from './http';
import type { RecordJson } from '../../src/shared/record-wire';

const db = useTestDatabase('partitioned');
let apps: RunningApps;
const MEMORY: PersistenceMode = { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: true };
const DUAL_MEM: PersistenceMode = { persistence: 'dual-write', primary: 'memory', failFast: false, dualWriteEnabled: true };
const DUAL_PG: PersistenceMode = { persistence: 'dual-write', primary: 'postgres', failFast: false, dualWriteEnabled: true };
const POSTGRES: PersistenceMode = { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false };

const switchTo = (mode: PersistenceMode) =>
  setModeAndWait(db.pool, { target: 'memory_records', mode, actor: 'test', reason: 'service test', timeoutMs: 10_000 });

beforeAll(async () => {
  apps = await startApps(2, { dbUrl: db.url, bootMode: MEMORY, heartbeatMs: 500 });
});
afterAll(async () => {
  await apps?.stopAll();
});

describe('memory-layer service', () => {
  it('serves the records API in memory mode, one memory store per instance', async () => {
    const [a, b] = apps.instances;
    const created = await call(a.url, 'POST', '/records', { ownerId: 'o1', content: 'first', metadata: { tag: 'x' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ownerId: 'o1', agentId: null, kind: 'note', content: 'first', metadata: { tag: 'x' } });
    expect(created.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const id = created.body.id;
    expect((await call(a.url, 'GET', `/records/${id}`)).body.content).toBe('first');
    expect((await call(b.url, 'GET', `/records/${id}`)).status).toBe(404); // b never saw it
    const upd = await call(a.url, 'PUT', `/records/${id}`, { content: 'second' });
    expect(upd.status).toBe(200);
    expect(Date.parse(upd.body.updatedAt)).toBeGreaterThan(Date.parse(created.body.updatedAt));
    expect((await call(a.url, 'GET', '/records?ownerId=o1&limit=10')).body.records.map((r: RecordJson) => r.id)).toEqual([id]);
    expect((await call(a.url, 'DELETE', `/records/${id}`)).status).toBe(204);
    expect((await call(a.url, 'DELETE', `/records/${id}`)).status).toBe(404);
    expect((await call(a.url, 'PUT', `/records/${id}`, { content: 'x' })).status).toBe(404);
    // Memory mode never touches the table.
    expect((await db.pool.query('SELECT count(*)::int AS n FROM memory_records')).rows[0].n).toBe(0);
  });

  it('makes updatedAt strictly increase even when updates come within one millisecond', async () => {
    const [a] = apps.instances;
    const { body } = await call(a.url, 'POST', '/records', { ownerId: 'o-fast', content: '0' });
    let last = Date.parse(body.updatedAt);
    for (let i = 1; i <= 20; i++) {
      const r = await call(a.url, 'PUT', `/records/${body.id}`, { content: String(i) });
      expect(Date.parse(r.body.updatedAt)).toBeGreaterThan(last);
      last = Date.parse(r.body.updatedAt);
    }
  });

  it('rejects bad input with 400 naming the field, unknown ids with 404, conflicts with 409', async () => {
    const [a] = apps.instances;
    const cases: [string, string, unknown, string][] = [
      ['POST', '/records', '{"ownerId": "o", "content": ', 'body'],
      ['POST', '/records', [1, 2], 'body'],
      ['POST', '/records', { ownerId: 'o', content: 'c', colour: 'red' }, 'colour'],
      ['POST', '/records', { ownerId: 5, content: 'c' }, 'ownerId'],
      ['POST', '/records', { content: 'c' }, 'ownerId'],
      ['POST', '/records', { ownerId: 'o' }, 'content'],
      ['POST', '/records', { ownerId: 'o', content: 'c', metadata: [1] }, 'metadata'],
      ['POST', '/records', { ownerId: 'o', content: 'c', id: 'not-a-uuid' }, 'id'],
      ['POST', '/records', { ownerId: 'o', content: 'c', createdAt: 'yesterday' }, 'createdAt'],
      ['POST', '/records', { ownerId: 'o', content: 'c', agentId: 7 }, 'agentId'],
      ['PUT', `/records/${crypto.randomUUID()}`, { ownerId: 'o2' }, 'ownerId'],
      ['PUT', `/records/${crypto.randomUUID()}`, {}, 'body'],
      ['PUT', `/records/${crypto.randomUUID()}`, { content: 3 }, 'content'],
      ['GET', '/records/123', undefined, 'id'],
      ['GET', '/records', undefined, 'ownerId'],
      ['GET', '/records?ownerId=o&limit=0', undefined, 'limit'],
      ['GET', '/records?ownerId=o&sort=asc', undefined, 'sort'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await call(a.url, method, path, body);
      expect({ method, path, status: r.status, field: r.body?.field }).toEqual({ method, path, status: 400, field });
      expect(r.body.error).toEqual(expect.any(String));
    }
    expect((await call(a.url, 'GET', `/records/${crypto.randomUUID()}`)).status).toBe(404);
    const id = crypto.randomUUID();
    expect((await call(a.url, 'POST', '/records', { id, ownerId: 'o', content: 'c' })).status).toBe(201);
    const dup = await call(a.url, 'POST', '/records', { id, ownerId: 'o', content: 'c' });
    expect(dup).toMatchObject({ status: 409, body: { field: 'id' } });
  });

  it('guards the admin API with the bearer token', async () => {
    const [a] = apps.instances;
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong' }, { authorization: `Basic ${apps.adminToken}` }, { authorization: `Bearer ${apps.adminToken}x` }]) {
      for (const path of ['/admin/stats', '/admin/export', '/admin/checksum', `/admin/records?ids=${crypto.randomUUID()}`]) {
        expect((await call(a.url, 'GET', path, undefined, headers)).status).toBe(401);
      }
    }
    expect((await call(a.url, 'GET', '/admin/stats', undefined, admin(apps.adminToken))).status).toBe(200);
  });

  it('exports pages in (createdAt, id) order from a cursor, with range checksums and stats', async () => {
    const [, b] = apps.instances;
    const h = admin(apps.adminToken);
    const base = Date.UTC(2020, 0, 1);
    const made: { id: string; createdAt: string }[] = [];
    for (let i = 0; i < 25; i++) {
      // Pairs share a createdAt, so the id breaks the tie.
      const createdAt = new Date(base + Math.floor(i / 2) * 86_400_000).toISOString();
      const r = await call(b.url, 'POST', '/records', { ownerId: `exp-${i % 3}`, content: `c${i}`, createdAt });
      made.push({ id: r.body.id, createdAt });
    }
    const expected = [...made].sort((x, y) => (x.createdAt === y.createdAt ? (x.id < y.id ? -1 : 1) : x.createdAt < y.createdAt ? -1 : 1));
    const seen: string[] = [];
    let after = '';
    for (;;) {
      const page = await call(b.url, 'GET', `/admin/export?limit=7&to=2021-01-01T00:00:00.000Z${after}`, undefined, h);
      expect(page.status).toBe(200);
      seen.push(...page.body.records.map((r: RecordJson) => r.id));
      if (!page.body.nextCursor) break;
      after = `&after=${encodeURIComponent(`${page.body.nextCursor.createdAt}|${page.body.nextCursor.id}`)}`;
    }
    expect(seen).toEqual(expected.map((e) => e.id));
    const ranged = await call(b.url, 'GET', `/admin/export?from=2020-01-03T00:00:00.000Z&to=2020-01-05T00:00:00.000Z`, undefined, h);
    expect(ranged.body.records.map((r: RecordJson) => r.id)).toEqual(expected.slice(4, 8).map((e) => e.id));
    const sum = await call(b.url, 'GET', `/admin/checksum?from=2020-01-01T00:00:00.000Z&to=2021-01-01T00:00:00.000Z`, undefined, h);
    expect(sum.body.count).toBe(25);
    const whole = await call(b.url, 'GET', '/admin/checksum', undefined, h);
    expect(whole.body.count).toBe(b.service.memory.size);
    const stats = await call(b.url, 'GET', '/admin/stats', undefined, h);
    expect(stats.body).toMatchObject({ instanceId: b.instanceId, count: b.service.memory.size, minCreatedAt: '2020-01-01T00:00:00.000Z', mode: MEMORY });
    const picked = await call(b.url, 'GET', `/admin/records?ids=${made[0].id},${made[1].id},${crypto.randomUUID()}`, undefined, h);
    expect(picked.body.records.map((r: RecordJson) => r.id).sort()).toEqual([made[0].id, made[1].id].sort());
    expect((await call(b.url, 'GET', '/admin/export?after=nonsense', undefined, h)).body.field).toBe('after');
  });

  it('applies each mode at run time and reads and writes the right stores', async () => {
    const [a, b] = apps.instances;
    const pg = new PgStore(db.pool);
    const { body: early } = await call(a.url, 'POST', '/records', { ownerId: 'm', content: 'memory-only' });

    const dual = await switchTo(DUAL_MEM);
    expect(dual.acknowledged.sort()).toEqual([a.instanceId, b.instanceId].sort());
    expect((await call(a.url, 'GET', '/healthz')).body).toEqual({ ok: true, instanceId: a.instanceId, mode: DUAL_MEM, epoch: dual.epoch });
    const { body: both } = await call(a.url, 'POST', '/records', { ownerId: 'm', content: 'both' });
    expect((await pg.get(both.id))?.content).toBe('both');
    expect(a.service.memory.getSync(both.id)?.content).toBe('both');
    // An update of a record Postgres never saw (not back-filled yet) lands there as a whole record.
    const upd = await call(a.url, 'PUT', `/records/${early.id}`, { content: 'updated-in-dual' });
    expect(await pg.get(early.id)).toMatchObject({ content: 'updated-in-dual', ownerId: 'm', createdAt: new Date(early.createdAt), updatedAt: new Date(upd.body.updatedAt) });

    await switchTo(DUAL_PG);
    // Reads come from Postgres now: a record only in memory is invisible.
    const { body: memOnly } = await call(b.url, 'POST', '/records', { ownerId: 'q', content: 'x' }); // written to both
    b.service.memory.putSync({ ...b.service.memory.getSync(memOnly.id)!, content: 'memory-diverged', updatedAt: new Date(Date.now() + 60_000) });
    expect((await call(b.url, 'GET', `/records/${memOnly.id}`)).body.content).toBe('x');
    expect((await call(a.url, 'DELETE', `/records/${both.id}`)).status).toBe(204);
    expect(await pg.get(both.id)).toBeNull();
    expect(a.service.memory.getSync(both.id)).toBeNull();

    await switchTo(POSTGRES);
    const { body: pgOnly } = await call(a.url, 'POST', '/records', { ownerId: 'p', content: 'pg-only' });
    expect(a.service.memory.getSync(pgOnly.id)).toBeNull();
    expect((await call(a.url, 'GET', `/records/${pgOnly.id}`)).body.content).toBe('pg-only');
    expect((await call(b.url, 'GET', `/records/${pgOnly.id}`)).body.content).toBe('pg-only'); // shared store now

    await switchTo(MEMORY);
    expect((await call(a.url, 'GET', `/records/${pgOnly.id}`)).status).toBe(404);
    expect((await call(a.url, 'GET', `/records/${early.id}`)).body.content).toBe('updated-in-dual');
  });
});
