import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { startPostgres, createDatabase, type RunningPostgres } from '../../src/devenv/postgres';
import { applyPlan } from '../../src/migrations/runner';
import { setModeAndWait } from '../../src/memory-layer/control-plane';
import type { PersistenceMode } from '../../workflows/types';
import { startApps, type RunningApps } from '../helpers/app';
import { call, sample } from './http';

// A Postgres of its own, so this file can stop it without disturbing other test files.
let pg: RunningPostgres;
let pool: Pool;
let apps: RunningApps;
const TARGET = 'memory_records';
const DUAL_MEM: PersistenceMode = { persistence: 'dual-write', primary: 'memory', failFast: false, dualWriteEnabled: true };

const switchTo = (mode: PersistenceMode) => setModeAndWait(pool, { target: TARGET, mode, actor: 'test', reason: 'outage test', timeoutMs: 15_000 });

async function whilePostgresIsDown<T>(fn: () => Promise<T>): Promise<T> {
  await pg.halt!();
  try {
    return await fn();
  } finally {
    await pg.resume!();
  }
}

beforeAll(async () => {
  pg = await startPostgres({ databaseUrl: undefined });
  const url = await createDatabase(pg.url, 'outages');
  pool = new Pool({ connectionString: url, connectionTimeoutMillis: 3_000 });
  pool.on('error', () => undefined);
  const c = await pool.connect();
  await applyPlan(c, 'partitioned');
  c.release();
  apps = await startApps(1, { dbUrl: url, heartbeatMs: 300 });
});
afterAll(async () => {
  await apps?.stopAll();
  await pool?.end();
  await pg?.stop();
});

describe('metrics and Postgres outages', () => {
  it('exports the write, failure, latency, mode and epoch metrics with the right values', async () => {
    const [a] = apps.instances;
    const { epoch } = await switchTo(DUAL_MEM);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await call(a.url, 'POST', '/records', { ownerId: 'm', content: `c${i}` })).body.id);
    for (const id of ids.slice(0, 2)) expect((await call(a.url, 'PUT', `/records/${id}`, { content: 'u' })).status).toBe(200);
    expect((await call(a.url, 'DELETE', `/records/${ids[2]}`)).status).toBe(204);
    expect((await call(a.url, 'DELETE', `/records/${ids[2]}`)).status).toBe(404);
    const text = (await call(a.url, 'GET', '/metrics')).body as string;
    expect(text).toBe(await a.service.metricsText());
    for (const store of ['memory', 'postgres']) {
      expect(sample(text, 'memory_writes_total', { store, op: 'create', outcome: 'ok' })).toBe(3);
      expect(sample(text, 'memory_writes_total', { store, op: 'update', outcome: 'ok' })).toBe(2);
      expect(sample(text, 'memory_writes_total', { store, op: 'delete', outcome: 'ok' })).toBe(1);
      expect(sample(text, 'memory_write_latency_seconds_count', { store, op: 'create' })).toBe(3);
    }
    expect(sample(text, 'dual_write_failures_total')).toBe(0);
    expect(sample(text, 'memory_persistence_mode', { persistence: 'dual-write', primary: 'memory' })).toBe(1);
    expect(sample(text, 'memory_persistence_mode', { persistence: 'memory', primary: 'memory' })).toBe(0);
    expect(sample(text, 'memory_persistence_mode', { persistence: 'postgres', primary: 'postgres' })).toBe(0);
    expect(sample(text, 'memory_control_epoch')).toBe(epoch);
  });

  it('keeps serving with memory primary while Postgres is down and counts each failed dual-write', async () => {
    const [a] = apps.instances;
    const { created, read } = await whilePostgresIsDown(async () => {
      const created = await call(a.url, 'POST', '/records', { ownerId: 'down', content: 'while down' });
      const read = await call(a.url, 'GET', `/records/${created.body.id}`);
      return { created, read };
    });
    expect(created.status).toBe(201);
    expect(read.body.content).toBe('while down');
    const text = await a.service.metricsText();
    expect(sample(text, 'dual_write_failures_total')).toBe(1);
    expect(sample(text, 'memory_writes_total', { store: 'postgres', op: 'create', outcome: 'error' })).toBe(1);
    expect(sample(text, 'memory_writes_total', { store: 'memory', op: 'create', outcome: 'ok' })).toBe(4);
  });

  it('fails the request with fail-fast when the secondary write fails', async () => {
    const [a] = apps.instances;
    await switchTo({ ...DUAL_MEM, failFast: true });
    const r = await whilePostgresIsDown(() => call(a.url, 'POST', '/records', { ownerId: 'down', content: 'fail fast' }));
    expect(r.status).toBe(503);
    expect(r.body.error).toMatch(/^postgres \(secondary store\) write failed and fail-fast is on/);
    expect(sample(await a.service.metricsText(), 'dual_write_failures_total')).toBe(2);
  });

  it('answers 503 saying the primary store is unavailable when Postgres is primary and down', async () => {
    const [a] = apps.instances;
    await switchTo({ persistence: 'dual-write', primary: 'postgres', failFast: false, dualWriteEnabled: true });
    const { body: kept } = await call(a.url, 'POST', '/records', { ownerId: 'pgp', content: 'kept' });
    const lostId = crypto.randomUUID();
    const [w, r] = await whilePostgresIsDown(async () => [
      await call(a.url, 'POST', '/records', { id: lostId, ownerId: 'pgp', content: 'lost?' }),
      await call(a.url, 'GET', `/records/${kept.id}`),
    ]);
    for (const res of [w, r]) {
      expect(res.status).toBe(503);
      expect(res.body.error).toMatch(/^postgres \(primary store\) unavailable: /);
    }
    // Nothing reached the secondary either: the primary write comes first.
    expect(a.service.memory.getSync(lostId)).toBeNull();
    // Back up: the service recovers without a restart.
    expect((await call(a.url, 'GET', `/records/${kept.id}`)).body.content).toBe('kept');
  });
});
