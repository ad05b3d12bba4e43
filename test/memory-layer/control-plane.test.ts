import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BarrierTimeoutError,
  bootModeFromEnv,
  getControl,
  listInstances,
  setMode,
  setModeAndWait,
  waitForEpoch,
} from '../../src/memory-layer/control-plane';
import type { PersistenceMode } from '../../workflows/types';
import { startApps, type RunningApps } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';
import { call } from './http';
import { DualStore } from '../../src/memory-layer/storage/dual-store';
import { MemoryStore } from '../../src/memory-layer/storage/memory-store';
import { PgStore } from '../../src/memory-layer/storage/pg-store';
import { ServiceMetrics } from '../../src/memory-layer/metrics';

const db = useTestDatabase('partitioned');
const TARGET = 'memory_records';
const DUAL_MEM: PersistenceMode = { persistence: 'dual-write', primary: 'memory', failFast: false, dualWriteEnabled: true };
const DUAL_PG: PersistenceMode = { persistence: 'dual-write', primary: 'postgres', failFast: true, dualWriteEnabled: true };
const MEMORY: PersistenceMode = { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: true };
let apps: RunningApps;

beforeAll(async () => {
  apps = await startApps(3, { dbUrl: db.url, bootMode: MEMORY, heartbeatMs: 300 });
});
afterAll(async () => {
  await apps?.stopAll();
});

describe('boot defaults', () => {
  it('reads the runbook variables and names the variable and allowed values when one is wrong', () => {
    expect(bootModeFromEnv({})).toEqual(MEMORY);
    expect(bootModeFromEnv({ PERSISTENCE: 'dual-write', DUAL_WRITE_PRIMARY: 'postgres', DUAL_WRITE_FAIL_FAST: 'true' })).toEqual(DUAL_PG);
    expect(bootModeFromEnv({ PERSISTENCE: 'postgres', DUAL_WRITE_PRIMARY: 'memory', DUAL_WRITE_ENABLED: 'false' })).toEqual({
      persistence: 'postgres',
      primary: 'postgres',
      failFast: false,
      dualWriteEnabled: false,
    });
    expect(() => bootModeFromEnv({ PERSISTENCE: 'redis' })).toThrow(/PERSISTENCE="redis".*memory, dual-write, postgres/);
    expect(() => bootModeFromEnv({ DUAL_WRITE_PRIMARY: 'disk' })).toThrow(/DUAL_WRITE_PRIMARY="disk".*memory, postgres/);
    expect(() => bootModeFromEnv({ DUAL_WRITE_FAIL_FAST: 'yes' })).toThrow(/DUAL_WRITE_FAIL_FAST="yes".*true, false/);
    expect(() => bootModeFromEnv({ DUAL_WRITE_ENABLED: '1' })).toThrow(/DUAL_WRITE_ENABLED="1".*true, false/);
  });
});

describe('control plane', () => {
  it('keeps boot defaults and creates no control row when none exists', async () => {
    expect(await getControl(db.pool, TARGET)).toBeNull();
    const rows = await listInstances(db.pool, TARGET);
    expect(rows.map((r) => r.instanceId).sort()).toEqual(apps.instances.map((i) => i.instanceId).sort());
    expect(rows.every((r) => r.live && r.appliedEpoch === 0)).toBe(true);
  });

  it('rejects an inconsistent mode naming the field', async () => {
    await expect(setMode(db.pool, { target: TARGET, mode: { ...MEMORY, primary: 'postgres' }, actor: 't', reason: '' })).rejects.toThrow(/mode\.primary/);
    await expect(setMode(db.pool, { target: TARGET, mode: { ...MEMORY, failFast: 'no' as never }, actor: 't', reason: '' })).rejects.toThrow(/mode\.failFast/);
    // A mirror table only with persistence postgres, and only a plain table name.
    await expect(setMode(db.pool, { target: TARGET, mode: { ...MEMORY, mirrorTable: 'memory_records_partitioned' }, actor: 't', reason: '' })).rejects.toThrow(/mode\.mirrorTable is allowed only with persistence 'postgres'/);
    const PG: PersistenceMode = { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false };
    await expect(setMode(db.pool, { target: TARGET, mode: { ...PG, mirrorTable: 'x; drop table y' }, actor: 't', reason: '' })).rejects.toThrow(/mode\.mirrorTable must be an unquoted table name/);
    await expect(setMode(db.pool, { target: TARGET, mode: { ...PG, mirror: 'x' } as never, actor: 't', reason: '' })).rejects.toThrow(/mode\.mirror is not a mode field.*mirrorTable/);
    expect(await getControl(db.pool, TARGET)).toBeNull(); // nothing written
  });

  it('returns from the barrier only after every live instance applied the epoch', async () => {
    const { epoch, acknowledged } = await setModeAndWait(db.pool, { target: TARGET, mode: DUAL_MEM, actor: 'orchestrator', reason: 'enable dual-write', timeoutMs: 10_000 });
    expect(epoch).toBe(1);
    expect(acknowledged.sort()).toEqual(apps.instances.map((i) => i.instanceId).sort());
    for (const i of apps.instances) {
      expect(i.service.dual.mode).toEqual(DUAL_MEM);
      expect(i.service.dual.epoch).toBe(1);
    }
    const rows = await listInstances(db.pool, TARGET);
    expect(rows.map((r) => [r.appliedEpoch, r.appliedMode])).toEqual(rows.map(() => [1, DUAL_MEM]));
    const control = await getControl(db.pool, TARGET);
    expect(control).toMatchObject({ mode: DUAL_MEM, epoch: 1, changedBy: 'orchestrator', reason: 'enable dual-write' });
  });

  it('times out naming a live instance that has not applied the epoch, and passes once it does', async () => {
    const stalled = apps.instances[1];
    stalled.service.control.pauseApplying();
    const { epoch } = await setMode(db.pool, { target: TARGET, mode: DUAL_PG, actor: 'orchestrator', reason: 'switch primary' });
    const err = await waitForEpoch(db.pool, { target: TARGET, epoch, timeoutMs: 1_500 }).catch((e) => e);
    expect(err).toBeInstanceOf(BarrierTimeoutError);
    expect((err as BarrierTimeoutError).lagging.map((l) => l.instanceId)).toEqual([stalled.instanceId]);
    expect((err as BarrierTimeoutError).lagging[0].appliedEpoch).toBe(epoch - 1);
    expect((err as Error).message).toContain(stalled.instanceId);
    expect(stalled.service.dual.mode).toEqual(DUAL_MEM); // still serving the old mode
    stalled.service.control.resumeApplying();
    const ok = await waitForEpoch(db.pool, { target: TARGET, epoch, timeoutMs: 5_000 });
    expect(ok.acknowledged).toContain(stalled.instanceId);
    expect(stalled.service.dual.mode).toEqual(DUAL_PG);
  });

  it('switches only between requests: in-flight requests finish first, new ones wait for the new mode', async () => {
    const a = apps.instances[0];
    // Hold one request inside the gate, then ask for a switch: it must wait for that request.
    let release!: () => void;
    const held = a.service.dual.gate.shared(() => new Promise<void>((r) => (release = r)));
    const { epoch } = await setMode(db.pool, { target: TARGET, mode: MEMORY, actor: 'orchestrator', reason: 'back to memory' });
    await expect(waitForEpoch(db.pool, { target: TARGET, epoch, timeoutMs: 1_200 })).rejects.toThrow(a.instanceId);
    expect(a.service.dual.mode).toEqual(DUAL_PG);
    // A write arriving now waits behind the pending switch, then runs in the new mode only.
    let done = false;
    const late = call(a.url, 'POST', '/records', { ownerId: 'late', content: 'x' }).then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    release();
    await held;
    const created = await late;
    expect(created.status).toBe(201);
    await waitForEpoch(db.pool, { target: TARGET, epoch, timeoutMs: 5_000 });
    expect(a.service.memory.getSync(created.body.id)?.content).toBe('x');
    expect((await db.pool.query('SELECT count(*)::int AS n FROM memory_records WHERE id = $1', [created.body.id])).rows[0].n).toBe(0);
  });

  it('never moves back to an older epoch: a stale read of the control row applied after a newer one is ignored', async () => {
    // The race a SIGSTOP opens: a poll read epoch n before the freeze, the heartbeat after it
    // read n+1; both wait for the gate behind a request in flight, the newer is applied first.
    const dual = new DualStore({ memory: new MemoryStore(), postgres: new PgStore(db.pool), metrics: new ServiceMetrics(), mode: MEMORY });
    let release!: () => void;
    const held = dual.gate.shared(() => new Promise<void>((r) => (release = r)));
    const newer = dual.applyMode(DUAL_PG, 8);
    const stale = dual.applyMode(MEMORY, 7);
    release();
    await held;
    expect(await newer).toBe(true);
    expect(await stale).toBe(false);
    expect({ mode: dual.mode, epoch: dual.epoch }).toEqual({ mode: DUAL_PG, epoch: 8 });
    expect(await dual.applyMode(MEMORY, 9)).toBe(true);
    expect(dual.epoch).toBe(9);
  });

  it('excludes a dead instance (heartbeat older than the TTL) and a stopped one from the barrier', async () => {
    await db.pool.query(
      `INSERT INTO cutover_instances (instance_id, target, applied_epoch, last_heartbeat) VALUES ('ghost', $1, 0, now() - interval '30 seconds')`,
      [TARGET],
    );
    const stopped = apps.instances[2];
    await stopped.stop();
    const rows = await listInstances(db.pool, TARGET);
    expect(rows.find((r) => r.instanceId === 'ghost')?.live).toBe(false);
    expect(rows.find((r) => r.instanceId === stopped.instanceId)?.live).toBe(false);
    const r = await setModeAndWait(db.pool, { target: TARGET, mode: MEMORY, actor: 'orchestrator', reason: 'rollback', timeoutMs: 5_000 });
    expect(r.acknowledged.sort()).toEqual([apps.instances[0].instanceId, apps.instances[1].instanceId].sort());
    // With a TTL longer than the ghost's silence it counts as live again, and blocks.
    await expect(waitForEpoch(db.pool, { target: TARGET, epoch: r.epoch, timeoutMs: 300, heartbeatTtlMs: 60_000 })).rejects.toThrow(/ghost/);
  });

  it('applies the control row at start over the boot defaults', async () => {
    const control = await getControl(db.pool, TARGET);
    const late = await startApps(1, { dbUrl: db.url, bootMode: { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false }, prefix: 'late' });
    try {
      expect(late.instances[0].service.dual.mode).toEqual(control!.mode);
      expect(late.instances[0].service.dual.epoch).toBe(control!.epoch);
      const me = (await listInstances(db.pool, TARGET)).find((r) => r.instanceId === late.instances[0].instanceId);
      expect(me).toMatchObject({ live: true, appliedEpoch: control!.epoch });
    } finally {
      await late.stopAll();
    }
  });

  it('catches a change by polling when the notification is missed', async () => {
    // Bump the row without NOTIFY: only the 1 s poll can see it.
    await db.pool.query(`UPDATE cutover_control SET persistence = 'dual-write', dual_write_primary = 'memory', epoch = epoch + 1 WHERE target = $1`, [TARGET]);
    const { epoch } = (await getControl(db.pool, TARGET))!;
    const r = await waitForEpoch(db.pool, { target: TARGET, epoch, timeoutMs: 5_000 });
    expect(r.acknowledged.length).toBe(2);
  });

  it('applies a control row that went back to an older epoch (reset, or restored from a backup): it never reports an epoch the row does not have', async () => {
    const before = (await getControl(db.pool, TARGET))!;
    expect(before.epoch).toBeGreaterThan(2);
    await db.pool.query(`UPDATE cutover_control SET persistence = 'memory', dual_write_primary = 'memory', epoch = 1 WHERE target = $1`, [TARGET]);
    const live = apps.instances.slice(0, 2);
    for (let i = 0; i < 50 && live.some((a) => a.service.dual.epoch !== 1); i++) await new Promise((r) => setTimeout(r, 200));
    expect(live.map((a) => a.service.dual.epoch)).toEqual([1, 1]);
    expect(live.map((a) => a.service.dual.mode.persistence)).toEqual(['memory', 'memory']);
    // And from there the fleet moves forward again.
    const r = await setModeAndWait(db.pool, { target: TARGET, mode: DUAL_MEM, actor: 'orchestrator', reason: 'after the restore', timeoutMs: 5_000 });
    expect(r.epoch).toBe(2);
    expect(live.map((a) => a.service.dual.epoch)).toEqual([2, 2]);
  });
});
