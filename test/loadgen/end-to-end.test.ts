import { afterEach, describe, expect, it } from 'vitest';
import { startLoad } from '../../src/loadgen/generator';
import { checkOracle, instancesReader, postgresReader } from '../../src/loadgen/oracle';
import { seedRecords } from '../../src/loadgen/seed';
import { startApps, type RunningApps } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';
import { ackedAtLeast } from '../helpers/load';

const db = useTestDatabase('partitioned');
let apps: RunningApps | undefined;
afterEach(async () => {
  await apps?.stopAll();
  apps = undefined;
});

const ZERO = { missing: 0, stale: 0, resurrected: 0, extra: 0, uncertain: 0 };

describe('load generator and oracle against real app instances', () => {
  it('loses nothing at 200 ops/s over 2 memory-mode instances, seeded months included', async () => {
    apps = await startApps(2, { dbUrl: db.url, target: 'loadgen-e2e-memory' });
    const urls = apps.instances.map((i) => i.url);

    const seeded = await seedRecords(urls, { count: 300, months: 4, owners: 10, adminToken: apps.adminToken, seed: 9 });
    expect(seeded.size).toBe(300);
    expect(new Set([...seeded.records()].map((r) => r.createdAt.slice(0, 7))).size).toBe(4);

    const handle = startLoad({ instances: urls, ratePerSec: 200, owners: 30, seed: 42 });
    await ackedAtLeast(handle, 600);
    const log = await handle.stop();
    const stats = handle.stats();
    expect(stats.failed).toBe(0);
    // Pacing itself is the generator test's job; the load ran until 600 operations were acknowledged.
    expect(stats.acked).toBeGreaterThanOrEqual(600);
    expect(log.acked.update).toBeGreaterThan(0);
    expect(log.acked.delete).toBeGreaterThan(0);
    // Both instances served owners.
    expect(new Set([...log.records()].map((r) => r.instance)).size).toBe(2);

    const reader = instancesReader(urls, apps.adminToken);
    try {
      const verdict = await checkOracle(log.merge(seeded), reader);
      expect(verdict).toMatchObject({ ...ZERO, checked: log.size });
    } finally {
      await reader.close();
    }
  });

  it('finds the same records in both stores of a dual-write run (memory primary)', async () => {
    apps = await startApps(2, {
      dbUrl: db.url,
      target: 'loadgen-e2e-dual',
      table: 'memory_records',
      bootMode: { persistence: 'dual-write', primary: 'memory', failFast: true, dualWriteEnabled: true },
    });
    const urls = apps.instances.map((i) => i.url);
    const handle = startLoad({ instances: urls, ratePerSec: 200, owners: 20, seed: 8 });
    await ackedAtLeast(handle, 400);
    const log = await handle.stop();
    const stats = handle.stats();
    expect(stats.failed, `${JSON.stringify(stats.byStatus)} ${stats.lastError}`).toBe(0);
    expect(log.size).toBeGreaterThan(100);

    const memory = instancesReader(urls, apps.adminToken);
    const postgres = postgresReader(db.pool);
    try {
      expect(await checkOracle(log, memory)).toMatchObject({ ...ZERO, checked: log.size });
      expect(await checkOracle(log, postgres)).toMatchObject({ ...ZERO, checked: log.size });
    } finally {
      await memory.close();
    }
  });
});
