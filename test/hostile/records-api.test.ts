import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setModeAndWait } from '../../src/memory-layer/control-plane';
import { PgStore } from '../../src/memory-layer/storage/pg-store';
import type { MemoryRecord } from '../../src/memory-layer/record';
import { recordToJson as recordJson, type RecordJson } from '../../src/shared/record-wire';
import type { PersistenceMode } from '../../workflows/types';
import { startApps, type RunningApps } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';
import { call } from '../memory-layer/http';
import { REFUSED, STORED } from './records-corpus';

const db = useTestDatabase('partitioned');
let apps: RunningApps;

const MODES: [string, PersistenceMode][] = [
  ['memory', { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: true }],
  ['dual-write, memory primary', { persistence: 'dual-write', primary: 'memory', failFast: true, dualWriteEnabled: true }],
  ['dual-write, postgres primary', { persistence: 'dual-write', primary: 'postgres', failFast: true, dualWriteEnabled: true }],
  ['postgres', { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false }],
];

beforeAll(async () => {
  apps = await startApps(2, { dbUrl: db.url, heartbeatMs: 500 });
});
afterAll(async () => {
  await apps?.stopAll();
});

const json = (r: MemoryRecord | null) => (r ? recordJson(r) : null);

describe.each(MODES)('the records API in %s mode', (_label, mode) => {
  beforeAll(async () => {
    await setModeAndWait(db.pool, { target: 'memory_records', mode, actor: 'test', reason: 'hostile values', timeoutMs: 10_000 });
  });

  it.each(REFUSED.map((c) => [c.name, c] as const))('refuses %s with 400 naming the field', async (_name, c) => {
    const [a] = apps.instances;
    const before = a.service.memory.size;
    const r = await call(a.url, 'POST', '/records', c.body);
    expect({ status: r.status, field: r.body?.field }).toEqual({ status: c.status, field: c.field });
    expect(r.body.error.length).toBeLessThan(500);
    expect(a.service.memory.size).toBe(before);
  });

  it.each(STORED.map((c) => [c.name, c] as const))('stores %s and reads it back identical from every store', async (_name, c) => {
    const [a, b] = apps.instances;
    const body = c.body;
    const created = await call<RecordJson>(a.url, 'POST', '/records', body);
    expect(created.status, JSON.stringify(created.body).slice(0, 300)).toBe(201);
    const r = created.body;
    expect(r).toMatchObject({ ownerId: body.ownerId, content: body.content, metadata: body.metadata ?? {} });
    if (body.id) expect(r.id).toBe(String(body.id).toLowerCase());
    if (body.createdAt) expect(r.createdAt).toBe(new Date(Date.parse(String(body.createdAt))).toISOString());
    expect((await call(a.url, 'GET', `/records/${r.id}`)).body).toEqual(r);
    const inMemory = json(a.service.memory.getSync(r.id));
    const inPostgres = json(await new PgStore(db.pool).get(r.id));
    if (mode.persistence === 'memory') expect([inMemory, inPostgres]).toEqual([r, null]);
    else if (mode.persistence === 'postgres') {
      expect([inMemory, inPostgres]).toEqual([null, r]);
      expect((await call(b.url, 'GET', `/records/${r.id}`)).body).toEqual(r);
    } else expect([inMemory, inPostgres]).toEqual([r, r]);
  });

  it('refuses a second create of an id with 409 naming the id, whatever its createdAt', async () => {
    const [a] = apps.instances;
    const id = crypto.randomUUID();
    const first = await call(a.url, 'POST', '/records', { id, ownerId: 'dup', content: 'first', createdAt: '2024-01-15T00:00:00.000Z' });
    expect(first.status).toBe(201);
    for (const createdAt of ['2024-01-15T00:00:00.000Z', '2025-06-01T00:00:00.000Z', undefined]) {
      const again = await call(a.url, 'POST', '/records', { id, ownerId: 'dup', content: 'second', createdAt });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ field: 'id', error: expect.stringContaining(id) });
    }
    expect((await call(a.url, 'GET', `/records/${id}`)).body.content).toBe('first');
    expect((await call(a.url, 'POST', '/records', { id: 'nope', ownerId: 'dup', content: 'c' })).body.field).toBe('id');
  });

  it('refuses a NUL in a query parameter, naming it (bad UTF-8 there decodes to U+FFFD, which is storable)', async () => {
    const [a] = apps.instances;
    for (const q of ['ownerId=a%00b', 'ownerId=o&limit=1%00']) {
      const r = await call(a.url, 'GET', `/records?${q}`);
      expect({ q, status: r.status }).toEqual({ q, status: 400 });
    }
    expect((await call(a.url, 'GET', '/records?ownerId=a%00b')).body.field).toBe('ownerId');
  });
});

describe('one id, one record across months', () => {
  it.each(MODES.slice(2))('lets only one of two instances creating one id at once win (%s mode)', async (_label, mode) => {
    await setModeAndWait(db.pool, { target: 'memory_records', mode, actor: 'test', reason: 'concurrent creates', timeoutMs: 10_000 });
    const [a, b] = apps.instances;
    for (let i = 0; i < 25; i++) {
      const id = crypto.randomUUID();
      const months = ['2024-01-10T00:00:00.000Z', `2024-${String(2 + (i % 10)).padStart(2, '0')}-10T00:00:00.000Z`];
      const results = await Promise.all([a, b].map((inst, k) => call(inst.url, 'POST', '/records', { id, ownerId: 'race', content: `from ${k}`, createdAt: months[k] })));
      expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
      const rows = await db.pool.query('SELECT created_at FROM memory_records WHERE id = $1', [id]);
      expect(rows.rowCount).toBe(1);
      const winner = results.find((r) => r.status === 201)!.body;
      for (const inst of [a, b]) expect((await call(inst.url, 'GET', `/records/${id}`)).body).toEqual(winner);
    }
  });

  it('never writes a second record under an id from a back-fill batch either; it reports the id', async () => {
    const { upsertRecords } = await import('../../src/memory-layer/storage/pg-store');
    const [a] = apps.instances;
    const { body } = await call<RecordJson>(a.url, 'POST', '/records', { ownerId: 'bf', content: 'c', createdAt: '2024-05-05T00:00:00.000Z' });
    const other: MemoryRecord = { ...body, content: 'other', createdAt: new Date('2024-07-07T00:00:00.000Z'), updatedAt: new Date() };
    const r = await db.withClient((c) => upsertRecords(c, [other]));
    expect(r).toMatchObject({ written: 0, skippedStale: 0, idConflicts: [body.id] });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM memory_records WHERE id = $1', [body.id])).rows[0].n).toBe(1);
  });
});
