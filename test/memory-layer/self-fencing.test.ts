import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { setMode, setModeAndWait } from '../../src/memory-layer/control-plane';
import { createMemoryService, type MemoryService } from '../../src/memory-layer/server';
import type { PersistenceMode } from '../../workflows/types';
import { spawnAppProcess } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';
import { hostPort, startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

const db = useTestDatabase('partitioned');
const TARGET = 'memory_records';
const TOKEN = 'fencing-test-token-0123456789';
const MEMORY: PersistenceMode = { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: true };
const POSTGRES: PersistenceMode = { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: true };
const HEARTBEAT_MS = 200;
const LEASE_MS = 1_500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startRun(): Promise<string> {
  const runId = `run-${crypto.randomBytes(4).toString('hex')}`;
  await db.pool.query(`INSERT INTO cutover_runs (run_id, workflow_id, target, kind) VALUES ($1, $1, $2, 'production')`, [runId, TARGET]);
  return runId;
}
async function endRuns(): Promise<void> {
  await db.pool.query(`UPDATE cutover_runs SET status = 'completed', ended_at = now() WHERE target = $1 AND status = 'active'`, [TARGET]);
}

async function post(url: string, content: string): Promise<{ status: number; id?: string; retryAfter: string | null; error?: string }> {
  const r = await fetch(`${url}/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ownerId: 'fence', content }) });
  const body = (await r.json()) as { id?: string; error?: string };
  return { status: r.status, id: body.id, retryAfter: r.headers.get('retry-after'), error: body.error };
}

let proxy: TcpProxy | undefined;
let service: MemoryService | undefined;
afterEach(async () => {
  proxy?.restore();
  await service?.stop();
  await proxy?.close();
  service = proxy = undefined;
  await endRuns();
});

async function behindProxy(instanceId: string): Promise<{ proxy: TcpProxy; service: MemoryService }> {
  const { host, port } = hostPort(db.url);
  proxy = await startTcpProxy(host, port);
  service = await createMemoryService({
    instanceId,
    databaseUrl: proxy.rewrite(db.url),
    adminToken: TOKEN,
    bootMode: MEMORY,
    heartbeatMs: HEARTBEAT_MS,
    leaseMs: LEASE_MS,
  });
  return { proxy, service };
}

/** Writes every 50 ms for `ms`; each result with its time since `t0` (performance clock). */
async function writeFor(url: string, ms: number, t0: number): Promise<{ at: number; status: number; retryAfter: string | null; error?: string }[]> {
  const out = [];
  const until = performance.now() + ms;
  let n = 0;
  while (performance.now() < until) {
    const r = await post(url, `w${n++}`);
    out.push({ at: performance.now() - t0, status: r.status, retryAfter: r.retryAfter, error: r.error });
    await sleep(50);
  }
  return out;
}

describe('self-fencing: an instance cut off from Postgres (a TCP proxy that stops forwarding)', () => {
  it('acknowledges no write after its lease expired while a run is active, and serves again once it re-read the control row', async () => {
    await startRun();
    const { proxy, service } = await behindProxy('fence-cut');
    expect((await post(service.url, 'before')).status).toBe(201);
    // A renewal after the run row exists: the instance knows a run is active (waited for, not timed: a loaded machine is slow).
    for (const until = performance.now() + 10_000; !service.control.lease.runActive && performance.now() < until; ) await sleep(HEARTBEAT_MS / 2);
    expect(service.control.lease.runActive, 'a renewal cycle read the active run').toBe(true);
    proxy.cut();
    const t0 = performance.now();
    const results = await writeFor(service.url, LEASE_MS + 1_500, t0);
    const acked = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 503);
    // Nothing is acknowledged once the lease is spent (it started before the cut).
    expect(acked.every((r) => r.at < LEASE_MS), JSON.stringify(acked.map((r) => Math.round(r.at)))).toBe(true);
    expect(results.filter((r) => r.at > LEASE_MS + 100).every((r) => r.status === 503)).toBe(true);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0].retryAfter).toMatch(/^\d+$/);
    expect(refused[0].error).toMatch(/lease expired.*run is active for memory_records.*re-read the control row.*Retry in \d+ s/);
    expect(results.length).toBe(acked.length + refused.length); // nothing else (no 500s)

    proxy.restore();
    const deadline = performance.now() + 10_000;
    let back = await post(service.url, 'after');
    while (back.status !== 201 && performance.now() < deadline) {
      await sleep(100);
      back = await post(service.url, 'after');
    }
    expect(back.status).toBe(201);
  });

  it('fails closed: with no run active at its last read, it acknowledges no write once its lease expired (a run registered while it was cut off)', async () => {
    const { proxy, service } = await behindProxy('fence-stale-no-run');
    expect((await post(service.url, 'before')).status).toBe(201);
    await sleep(HEARTBEAT_MS * 2);
    expect(service.control.lease.runActive).toBe(false); // its last read: no run
    proxy.cut();
    await startRun(); // a run it never learns of
    const t0 = performance.now();
    const results = await writeFor(service.url, LEASE_MS + 1_500, t0);
    const acked = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 503);
    // Only within the lease (it started before the cut): nothing memory-only during the run it missed.
    expect(acked.every((r) => r.at < LEASE_MS), JSON.stringify(acked.map((r) => Math.round(r.at)))).toBe(true);
    expect(results.filter((r) => r.at > LEASE_MS + 100).every((r) => r.status === 503)).toBe(true);
    expect(results.some((r) => r.at > LEASE_MS + 500)).toBe(true);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0].error).toMatch(/lease expired.*no run was active for memory_records at its last read, but one may have started since.*Retry in \d+ s/);
    expect(results.length).toBe(acked.length + refused.length);

    proxy.restore();
    const deadline = performance.now() + 10_000;
    let back = await post(service.url, 'after');
    while (back.status !== 201 && performance.now() < deadline) {
      await sleep(100);
      back = await post(service.url, 'after');
    }
    expect(back.status).toBe(201);
    expect(service.control.lease.runActive).toBe(true); // the fresh cycle read the registry
  });
});

describe('self-fencing: a frozen app process (SIGSTOP past the lease, then SIGCONT)', () => {
  it('does not acknowledge requests from its accept backlog before it has re-read the control row', async () => {
    await startRun();
    const app = await spawnAppProcess({
      dbUrl: db.url,
      adminToken: TOKEN,
      instanceId: 'fence-frozen',
      env: { LICHEN_HEARTBEAT_MS: String(HEARTBEAT_MS), LICHEN_LEASE_MS: String(LEASE_MS) },
    });
    try {
      await setModeAndWait(db.pool, { target: TARGET, mode: MEMORY, actor: 'test', reason: 'memory first', timeoutMs: 10_000 });
      expect((await post(app.url, 'before')).status).toBe(201);
      app.kill('SIGSTOP');
      // While it is frozen the fleet moves to Postgres (the instance misses the epoch).
      const { epoch } = await setMode(db.pool, { target: TARGET, mode: POSTGRES, actor: 'test', reason: 'while frozen' });
      const backlog = Array.from({ length: 20 }, (_, i) => post(app.url, `backlog-${i}`));
      await sleep(LEASE_MS + 1_000);
      app.kill('SIGCONT');
      const results = await Promise.all(backlog);
      const acked = results.filter((r) => r.status === 201).map((r) => r.id!);
      expect(acked.length).toBeGreaterThan(0);
      expect(results.filter((r) => r.status !== 201 && r.status !== 503)).toEqual([]);
      // Every acknowledged write of the backlog was served in the new mode: it is in Postgres.
      const inPg = await db.pool.query<{ id: string }>('SELECT id::text FROM memory_records WHERE id = ANY($1::uuid[])', [acked]);
      const lost = acked.filter((id) => !inPg.rows.some((r) => r.id === id));
      if (lost.length) {
        const inMemory = await fetch(`${app.url}/admin/records?ids=${lost.join(',')}`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.json()).catch((e: Error) => e.message);
        console.log('LOST', JSON.stringify({ lost, inMemory, results: results.map((r) => [r.status, r.id?.slice(0, 8)]) }), '\nAPP STDERR\n', app.stderr().slice(-8000));
      }
      expect(inPg.rows.map((r) => r.id).sort()).toEqual([...acked].sort());
      // As the least-privilege app role, the heartbeat can ask whether a run is active (008): without it the lease is never renewed and the instance does not fence itself.
      expect(app.stderr()).not.toMatch(/heartbeat failed|permission denied/);
      const me = await db.pool.query<{ applied_epoch: string }>(`SELECT applied_epoch FROM cutover_instances WHERE instance_id = 'fence-frozen'`);
      expect(Number(me.rows[0].applied_epoch)).toBe(epoch);
    } finally {
      app.kill('SIGCONT');
      app.kill('SIGKILL');
      await app.exited;
    }
  });
});
