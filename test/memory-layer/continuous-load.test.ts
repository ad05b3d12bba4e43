import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setModeAndWait } from '../../src/memory-layer/control-plane';
import { upsertRecords, type UpsertResult } from '../../src/memory-layer/storage/pg-store';
import type { MemoryRecord } from '../../src/memory-layer/record';
import { startLoad } from '../../src/loadgen/generator';
import { checkOracle, formatVerdict, postgresReader, instancesReader } from '../../src/loadgen/oracle';
import type { PersistenceMode } from '../../workflows/types';
import { startApps, type RunningApps } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';
import { admin, call } from './http';
import { ackedAtLeast } from '../helpers/load';
import { recordFromJson, type RecordJson } from '../../src/shared/record-wire';

const db = useTestDatabase('partitioned');
let apps: RunningApps;
const TARGET = 'memory_records';
const MEMORY: PersistenceMode = { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: true };
const DUAL_MEM: PersistenceMode = { persistence: 'dual-write', primary: 'memory', failFast: false, dualWriteEnabled: true };
const DUAL_PG: PersistenceMode = { persistence: 'dual-write', primary: 'postgres', failFast: false, dualWriteEnabled: true };
const POSTGRES: PersistenceMode = { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false };

const switchTo = (mode: PersistenceMode) =>
  setModeAndWait(db.pool, { target: TARGET, mode, actor: 'load-test', reason: `switch to ${mode.persistence}/${mode.primary}`, timeoutMs: 10_000 });

/** The back-fill the orchestrator runs: every instance's memory store, page by page, into Postgres. */
async function backfill(): Promise<UpsertResult> {
  const total: UpsertResult = { written: 0, skippedStale: 0, skippedDeleted: 0, idConflicts: [], partitionsCreated: [] };
  for (const inst of apps.instances) {
    let after = '';
    for (;;) {
      const page = await call(inst.url, 'GET', `/admin/export?limit=500${after}`, undefined, admin(apps.adminToken));
      expect(page.status).toBe(200);
      const records: MemoryRecord[] = page.body.records.map((r: RecordJson) => recordFromJson(r));
      const res = await db.withClient((c) => upsertRecords(c, records));
      total.written += res.written;
      total.skippedStale += res.skippedStale;
      total.skippedDeleted += res.skippedDeleted;
      total.partitionsCreated.push(...res.partitionsCreated);
      if (!page.body.nextCursor) break;
      after = `&after=${encodeURIComponent(`${page.body.nextCursor.createdAt}|${page.body.nextCursor.id}`)}`;
    }
  }
  return total;
}

beforeAll(async () => {
  apps = await startApps(2, { dbUrl: db.url, bootMode: MEMORY, heartbeatMs: 500 });
});
afterAll(async () => {
  await apps?.stopAll();
});

describe('continuous load across every mode switch', () => {
  it('loses nothing: memory → dual-write (memory primary) → back-fill → dual-write (postgres primary) → postgres', async () => {
    await switchTo(MEMORY);
    const load = startLoad({
      instances: apps.instances.map((i) => i.url),
      ratePerSec: 300,
      owners: 24,
      concurrency: 64,
      // Creates spread over past months: Postgres has no partitions for most of them.
      createdAtSpreadMonths: 6,
      seed: 7,
    });
    try {
      await ackedAtLeast(load, 300);
      // Phase 1 → 2: the memory stores stay primary, Postgres starts receiving every write.
      await switchTo(DUAL_MEM);
      await ackedAtLeast(load, 200);
      const filled = await backfill(); // concurrent with live dual-writes, updates and deletes
      expect(filled.written).toBeGreaterThan(0);
      // 002 created 3 partitions (now..+2 months); the past months' ones were created on demand.
      expect(await partitionCount()).toBeGreaterThan(6);
      await ackedAtLeast(load, 200);
      await switchTo(DUAL_PG);
      await ackedAtLeast(load, 450);
      await switchTo(POSTGRES);
      await ackedAtLeast(load, 400);
    } finally {
      await load.stop();
    }
    const stats = load.stats();
    // Volume, not speed: each stage above waited for its share of acknowledged operations.
    expect(stats.failed, JSON.stringify(stats.byStatus)).toBe(0);
    expect(stats.acked).toBeGreaterThan(1_500);
    expect(stats.ackedByOp.update).toBeGreaterThan(100);
    expect(stats.ackedByOp.delete).toBeGreaterThan(100);

    const verdict = await checkOracle(load.log, postgresReader(db.pool));
    expect(verdict, formatVerdict(verdict)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
    expect(verdict.checked).toBeGreaterThan(500);
    // No dual-write failed on the way.
    for (const inst of apps.instances) expect(inst.service.dual.counts.secondaryFailures).toBe(0);
  });

  it('loses nothing in memory mode across instances (the oracle reads every instance)', async () => {
    await switchTo(MEMORY);
    const load = startLoad({ instances: apps.instances.map((i) => i.url), ratePerSec: 250, owners: 10, durationMs: 2_000, seed: 11 });
    await load.done;
    expect(load.stats().failed).toBe(0);
    const verdict = await checkOracle(load.log, instancesReader(apps.instances.map((i) => i.url), apps.adminToken));
    expect(verdict, formatVerdict(verdict)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });
});

async function partitionCount(): Promise<number> {
  const r = await db.pool.query(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'memory_records'::regclass`);
  return r.rows[0].n;
}
