import { describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { useCutoverEnv } from '../helpers/cutover-env';
import { applyPlan } from '../../src/migrations/runner';
import { createProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';
import { createBackfillActivities, type BackfillChunkInput, type BackfillChunkResult, type BackfillUnit, type Checkpoint } from '../../activities/production/backfill';
import { AdminClient, type InstanceRef } from '../../activities/lib/admin-client';
import type { MemoryRecord, RecordCursor } from '../../src/memory-layer/record';

const env = useCutoverEnv({ instances: 2, seed: 300, months: 3 });
const quiet = () => undefined;
const logger = { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet };

function run<I, O>(fn: (i: I) => Promise<O>, input: I, heartbeatDetails?: Checkpoint): Promise<O> {
  return new MockActivityEnvironment(heartbeatDetails ? { heartbeatDetails } : {}, { logger }).run(fn, input);
}

async function everything(ref: InstanceRef): Promise<MemoryRecord[]> {
  const client = new AdminClient(ref, env.apps.adminToken);
  const out: MemoryRecord[] = [];
  for (let after: RecordCursor | null = null; ; ) {
    const page = await client.exportPage({ after, limit: 500 });
    out.push(...page.records);
    if (!page.nextCursor) return out;
    after = page.nextCursor;
  }
}

describe('backfillChunk: the streaming backfill (COPY text export → staging table → one guarded statement per slab)', () => {
  it('copies every record byte for byte, keeps newer rows and tombstones, creates partitions, and resumes from its heartbeat', async () => {
    await env.db.withClient((c) => applyPlan(c, 'partitioned'));
    const refs: InstanceRef[] = env.apps.instances.map((i) => ({ instanceId: i.instanceId, adminUrl: i.url }));
    // Hostile contents (every byte COPY escapes, multi-byte UTF-8, a line that looks like the
    // trailer) and a month that has no partition yet.
    // A month ahead of the premade ones (current + 2) and inside the API's createdAt bound (now + 1 year).
    const ahead = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 7, 4, 12, 0, 0, 123));
    const aheadPartition = `memory_records_${ahead.getUTCFullYear()}_${String(ahead.getUTCMonth() + 1).padStart(2, '0')}`;
    const hostile = ['tab\there', 'line\nbreak\r\n', 'back\\slash \\. \\N', '\\.\tend', 'ünïcödé 🦎', ''];
    for (const [k, content] of hostile.entries()) {
      const res = await fetch(`${refs[k % 2].adminUrl}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ownerId: 'hostile\towner', content, metadata: { k, s: 'a\tb\nc\\' }, agentId: k % 2 ? null : 'agent\n1', ...(k === 0 ? { createdAt: ahead.toISOString() } : {}) }),
      });
      expect(res.status).toBe(201);
    }
    const memory = new Map<string, MemoryRecord>();
    for (const ref of refs) for (const r of await everything(ref)) memory.set(r.id, r);
    expect(memory.size).toBe(306);

    // Rows already in Postgres: a newer version (kept), an older one (replaced), a tombstone (never written).
    const [newer, older, deleted] = [...memory.values()].slice(10, 13);
    const day = 86_400_000;
    for (const [r, shift, content] of [[newer, day, 'newer in postgres'], [older, -day, 'older in postgres']] as const) {
      await env.db.pool.query(`SELECT create_monthly_partition(date_trunc('month', $1::timestamptz)::date)`, [r.createdAt.toISOString()]);
      await env.db.pool.query(
        `INSERT INTO memory_records (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, '{}', $6, $7)`,
        [r.id, r.ownerId, r.agentId, r.kind, content, r.createdAt.toISOString(), new Date(r.updatedAt.getTime() + shift).toISOString()],
      );
    }
    await env.db.pool.query(`INSERT INTO memory_record_tombstones (id, created_at, deleted_at) VALUES ($1, $2, now())`, [deleted.id, deleted.createdAt.toISOString()]);

    const acts = createBackfillActivities({ profiles: createProfileResolver({ default: env.db.url }), secrets: createSecretResolver({ default: env.apps.adminToken }, {}) });
    const plan = await run(acts.planBackfill, { apps: { adminTokenRef: 'default' }, instances: refs });
    const input = (unit: BackfillUnit, cursor: RecordCursor | null): BackfillChunkInput => ({
      connectionProfile: 'default', table: 'memory_records', apps: { adminTokenRef: 'default' }, unit, cursor, batchSize: 17, chunkRows: 40, maxRowsPerSecond: 0, throttleWriteP99Ms: 250, dryRun: false,
    });

    // A retry after a crash: the heartbeat says 5 rows were done up to the 5th record of the unit.
    const unit = plan.units.find((u) => u.count > 10)!;
    const unitRecords = (await everything(unit.instance)).filter((r) => r.createdAt.toISOString() >= unit.from && r.createdAt.toISOString() < unit.to);
    expect(unitRecords.length).toBe(unit.count);
    const fifth: RecordCursor = { createdAt: unitRecords[4].createdAt.toISOString(), id: unitRecords[4].id };
    const resumed = await run(acts.backfillChunk, input(unit, null), { cursor: fifth, rows: 5, written: 5, skippedStale: 0, skippedDeleted: 0, partitionsCreated: [] });
    expect(resumed.resumedFrom).toEqual(fifth);
    expect(resumed.rows).toBe(Math.min(40, unit.count));
    const firstFive = await env.db.pool.query('SELECT count(*)::int AS n FROM memory_records WHERE id = ANY($1::uuid[])', [unitRecords.slice(0, 5).map((r) => r.id)]);
    expect(firstFive.rows[0].n).toBe(unitRecords.slice(0, 5).filter((r) => r === newer || r === older).length); // not re-read

    const totals = { rows: 0, written: 0, skippedStale: 0, skippedDeleted: 0, calls: 0, partitions: [] as string[] };
    for (const u of plan.units) {
      let cursor: RecordCursor | null = null;
      for (;;) {
        const r: BackfillChunkResult = await run(acts.backfillChunk, input(u, cursor));
        totals.rows += r.rows;
        totals.written += r.written;
        totals.skippedStale += r.skippedStale;
        totals.skippedDeleted += r.skippedDeleted;
        totals.partitions.push(...r.partitionsCreated);
        totals.calls++;
        expect(r.rows).toBeLessThanOrEqual(40);
        if (!r.nextCursor) break;
        cursor = r.nextCursor;
      }
    }
    expect(totals.rows).toBe(306);
    expect(totals.calls).toBeGreaterThan(plan.units.length); // chunks of 40: the cursor carried across calls
    expect(totals.skippedDeleted).toBe(1);
    expect(totals.written + totals.skippedStale + totals.skippedDeleted).toBe(306);
    expect(totals.partitions).toContain(aheadPartition);

    const pg = await env.db.pool.query<{ id: string; owner_id: string; agent_id: string | null; kind: string; content: string; metadata: unknown; created_at: Date; updated_at: Date }>('SELECT * FROM memory_records');
    const rows = new Map(pg.rows.map((r) => [r.id, r]));
    expect(rows.size).toBe(305);
    expect(rows.has(deleted.id)).toBe(false);
    expect(rows.get(newer.id)!.content).toBe('newer in postgres');
    for (const m of memory.values()) {
      if (m === newer || m === deleted) continue;
      const r = rows.get(m.id);
      expect(r, m.id).toBeDefined();
      expect({ ownerId: r!.owner_id, agentId: r!.agent_id, kind: r!.kind, content: r!.content, metadata: r!.metadata, createdAt: r!.created_at.toISOString(), updatedAt: r!.updated_at.toISOString() }).toEqual({
        ownerId: m.ownerId, agentId: m.agentId, kind: m.kind, content: m.content, metadata: m.metadata, createdAt: m.createdAt.toISOString(), updatedAt: m.updatedAt.toISOString(),
      });
    }
    expect(hostile.every((c) => pg.rows.some((r) => r.content === c))).toBe(true);

    // A dry run reads the same stream and writes nothing.
    const before = (await env.db.pool.query('SELECT count(*)::int AS n FROM memory_records')).rows[0].n;
    await env.db.pool.query('DELETE FROM memory_records WHERE id = $1', [older.id]);
    const dry = await run(acts.backfillChunk, { ...input(unit, null), dryRun: true, chunkRows: 10_000 });
    expect(dry).toMatchObject({ rows: unit.count, written: 0, nextCursor: null });
    expect((await env.db.pool.query('SELECT count(*)::int AS n FROM memory_records')).rows[0].n).toBe(before - 1);
  });
});
