import { afterAll, describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { useTestDatabase } from '../helpers/db';
import { spawnAppProcess, type SpawnedApp } from '../helpers/app';
import {
  BarrierTimeoutError, DEFAULT_HEARTBEAT_TTL_MS, listInstances, setModeAndWait, type PersistenceMode,
} from '../../src/memory-layer/control-plane';
import { logFile, registerSecret, scenario, sleep } from './lib';

const db = useTestDatabase('control');
const ADMIN_TOKEN = `tok_barrier_${process.pid}_${Date.now().toString(36)}`;
registerSecret('admin token (barrier)', ADMIN_TOKEN);
const apps: (SpawnedApp & { running(): boolean })[] = [];

async function spawnApp(i: number) {
  const a = await spawnAppProcess({ dbUrl: db.url, adminToken: ADMIN_TOKEN, instanceId: `barrier-${i}-${process.pid}`, bootMode: MEMORY });
  let alive = true;
  void a.exited.then(() => (alive = false));
  return Object.assign(a, { running: () => alive });
}

const MEMORY: PersistenceMode = { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: false };
const DUAL: PersistenceMode = { persistence: 'dual-write', primary: 'memory', failFast: false, dualWriteEnabled: true };

afterAll(async () => {
  for (const a of apps) {
    a.kill('SIGKILL');
    await a.exited;
    const out = logFile(`app-${a.instanceId}`);
    out.end(a.stderr());
  }
});

/**
 * Samples the applied epochs of the live instances that still run (a SIGKILLed process counts
 * as live in cutover_instances until its heartbeat is older than the TTL, but serves nothing)
 * every 50 ms while `during` runs. The invariant: they are never more than one epoch apart
 * (old mode or new mode, never an older one); once a barrier returns they are all on its epoch.
 */
async function sampled<T>(pool: Pool, during: () => Promise<T>): Promise<{ value: T; maxSpread: number; samples: number }> {
  const running = new Set(apps.filter((a) => a.running()).map((a) => a.instanceId));
  let stop = false;
  let maxSpread = 0;
  let samples = 0;
  const sampler = (async () => {
    while (!stop) {
      const live = (await listInstances(pool, 'memory_records')).filter((i) => i.live && running.has(i.instanceId));
      if (live.length) {
        const epochs = live.map((i) => i.appliedEpoch);
        maxSpread = Math.max(maxSpread, Math.max(...epochs) - Math.min(...epochs));
        samples++;
      }
      await sleep(50);
    }
  })();
  try {
    const value = await during();
    return { value, maxSpread, samples };
  } finally {
    stop = true;
    await sampler;
  }
}

async function modeOf(app: SpawnedApp): Promise<{ mode: PersistenceMode; epoch: number }> {
  const r = await fetch(`${app.url}/healthz`, { signal: AbortSignal.timeout(3000) });
  return (await r.json()) as { mode: PersistenceMode; epoch: number };
}

describe('an app instance killed during a barrier (README "The control plane": the liveness rule)', () => {
  it('with a barrier timeout shorter than the heartbeat TTL: BarrierTimeoutError naming the killed instance', async () => {
    await scenario('app instance killed during a barrier (timeout < TTL: named)', async () => {
      for (let i = 0; i < 3; i++) apps.push(await spawnApp(i));
      const first = await setModeAndWait(db.pool, { target: 'memory_records', mode: MEMORY, actor: 'chaos', reason: 'baseline', timeoutMs: 20_000 });
      expect(first.acknowledged.sort()).toEqual(apps.map((a) => a.instanceId).sort());

      const victim = apps[2];
      victim.kill('SIGKILL');
      await victim.exited;
      const t0 = Date.now();
      const { value: err, maxSpread, samples } = await sampled(db.pool, () =>
        setModeAndWait(db.pool, { target: 'memory_records', mode: DUAL, actor: 'chaos', reason: 'barrier under a dead instance', timeoutMs: 3000 }).then(() => undefined, (e: unknown) => e));
      expect(Date.now() - t0).toBeLessThan(DEFAULT_HEARTBEAT_TTL_MS);
      expect(err).toBeInstanceOf(BarrierTimeoutError);
      const b = err as BarrierTimeoutError;
      expect(b.lagging.map((l) => l.instanceId)).toEqual([victim.instanceId]);
      expect(b.message).toContain(victim.instanceId);
      // The survivors applied the new mode; the live set never spanned more than old → new.
      for (const a of apps.slice(0, 2)) expect((await modeOf(a)).mode).toEqual(DUAL);
      expect(samples).toBeGreaterThan(5);
      expect(maxSpread).toBeLessThanOrEqual(1);
      return { dataLost: null, detail: b.message.slice(0, 160) };
    });
  }, 90_000);

  it('with a barrier timeout longer than the TTL: succeeds once the killed instance is declared dead, without it', async () => {
    await scenario('app instance killed during a barrier (timeout > TTL: excluded)', async () => {
      expect(apps.length).toBe(3);
      const victim = apps[1];
      victim.kill('SIGKILL');
      await victim.exited;
      const t0 = Date.now();
      const { value: r, maxSpread, samples } = await sampled(db.pool, () =>
        setModeAndWait(db.pool, { target: 'memory_records', mode: MEMORY, actor: 'chaos', reason: 'barrier outlives the TTL', timeoutMs: 25_000 }));
      const waited = Date.now() - t0;
      // Only the survivor acknowledged; the barrier waited for the TTL to declare the victim dead.
      expect(r.acknowledged).toEqual([apps[0].instanceId]);
      expect(waited).toBeGreaterThan(DEFAULT_HEARTBEAT_TTL_MS - 2_500 - 1_000);
      expect(waited).toBeLessThan(25_000);
      const rows = await listInstances(db.pool, 'memory_records');
      expect(rows.filter((x) => x.live).map((x) => x.instanceId)).toEqual([apps[0].instanceId]);
      expect(rows.filter((x) => x.live).every((x) => x.appliedEpoch === r.epoch)).toBe(true);
      expect((await modeOf(apps[0])).mode).toEqual(MEMORY);
      expect(maxSpread).toBeLessThanOrEqual(1);
      expect(samples).toBeGreaterThan(20);
      return { dataLost: null, detail: `barrier returned after ${waited} ms without ${victim.instanceId}` };
    });
  }, 90_000);
});
