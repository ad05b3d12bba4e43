import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { setModeAndWait } from '../../src/memory-layer/control-plane';
import { Lease } from '../../src/memory-layer/lease';
import { startLoad } from '../../src/loadgen/generator';
import { checkOracle, instancesReader } from '../../src/loadgen/oracle';
import type { PersistenceMode } from '../../workflows/types';
import { startApps, type RunningApps } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';
import { ackedAtLeast } from '../helpers/load';
import { expectNothingLost } from '../helpers/cutover-env';

/**
 * Issue 24, item 4: the lease does not depend on the application's pool, and it counts time
 * the host spent suspended.
 */
const db = useTestDatabase('partitioned');
const TARGET = 'memory_records';
const DUAL_MEM: PersistenceMode = { persistence: 'dual-write', primary: 'memory', failFast: false, dualWriteEnabled: true };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let apps: RunningApps | undefined;
afterEach(async () => {
  await apps?.stopAll();
  apps = undefined;
  await db.pool.query(`UPDATE cutover_runs SET status = 'completed', ended_at = now() WHERE target = $1 AND status = 'active'`, [TARGET]);
});

async function until<T>(what: string, fn: () => T | Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

describe('the heartbeat under a saturated app pool (a slow Postgres)', () => {
  it('keeps renewing the lease while every app connection waits on a write, and loses nothing', async () => {
    apps = await startApps(1, { dbUrl: db.url, bootMode: DUAL_MEM, heartbeatMs: 200, leaseMs: 2_000 });
    const [a] = apps.instances;
    await setModeAndWait(db.pool, { target: TARGET, mode: DUAL_MEM, actor: 'test', reason: 'dual-write, memory primary', timeoutMs: 15_000 });
    const runId = `run-${crypto.randomBytes(4).toString('hex')}`;
    await db.pool.query(`INSERT INTO cutover_runs (run_id, workflow_id, target, kind) VALUES ($1, $1, $2, 'production')`, [runId, TARGET]);
    await until('the instance learns a run is active', () => a.service.control.lease.runActive, 15_000);

    const load = startLoad({ instances: [a.url], ratePerSec: 80, owners: 12 });
    await ackedAtLeast(load, 40);
    // A slow Postgres: every write to the records table waits on a lock, holding its app connection.
    const locker = await db.pool.connect();
    const stuck: Promise<number>[] = [];
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${TARGET} IN ACCESS EXCLUSIVE MODE`);
      for (let i = 0; i < 30; i++) {
        stuck.push(
          fetch(`${a.url}/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ownerId: 'stuck', content: `s${i}` }) }).then((r) => r.status),
        );
      }
      // Saturated: every connection of the app's pool is taken and queries queue for one.
      await until('the app pool is saturated', () => a.pool.waitingCount > 0 && a.pool.idleCount === 0, 30_000);
      const saturatedAt = (await db.pool.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0].t;
      // The orchestrator sees heartbeats after that moment, and the instance keeps its lease.
      const beat = await until(
        'a heartbeat after the pool saturated',
        async () => (await db.pool.query(`SELECT 1 FROM cutover_instances WHERE instance_id = $1 AND last_heartbeat > $2`, [a.instanceId, saturatedAt])).rowCount === 1,
        10_000,
      ).catch((err: Error) => err.message);
      const leaseHeld = await until('a lease renewed while the pool is saturated', () => !a.service.control.lease.expired(), 10_000).catch((err: Error) => err.message);
      const stillSaturated = a.pool.waitingCount > 0;
      expect({ beat, leaseHeld, stillSaturated }).toEqual({ beat: true, leaseHeld: true, stillSaturated: true });
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
    }
    // Every write that waited is acknowledged once Postgres answers (none fenced).
    expect(new Set(await Promise.all(stuck))).toEqual(new Set([201]));
    await ackedAtLeast(load, 20);
    const log = await load.stop();
    expect(load.stats().acked).toBeGreaterThan(60);
    expectNothingLost(await checkOracle(log, instancesReader([a.url], apps.adminToken)));
  });
});

describe('the lease clock', () => {
  it('expires when the wall clock says so although the monotonic clock stood still (a suspended host)', () => {
    let mono = 1_000;
    let wall = 1_700_000_000_000;
    const lease = new Lease(8_000, () => mono, () => wall);
    lease.renewed(lease.stamp(), true);
    mono += 1_000;
    wall += 1_000;
    expect(lease.expired()).toBe(false);
    // Suspended for a minute: CLOCK_MONOTONIC (performance.now) does not advance, the wall clock does.
    wall += 60_000;
    expect(lease.expired()).toBe(true);
    expect(lease.sinceRenewalMs()).toBe(61_000);
    // A wall clock stepped back does not extend it either: the monotonic clock still counts.
    const back = new Lease(8_000, () => mono, () => wall);
    back.renewed(back.stamp(), true);
    wall -= 3_600_000;
    mono += 8_000;
    expect(back.expired()).toBe(true);
  });
});
