import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { applyPlan } from '../../src/migrations/runner';
import { deleteRecords, PgStore, upsertRecords } from '../../src/memory-layer/storage/pg-store';
import type { MemoryRecord } from '../../src/memory-layer/record';
import { checksumOf } from '../../src/memory-layer/checksum';
import { freshDatabase, useTestDatabase } from '../helpers/db';

const db = useTestDatabase('partitioned');

function rec(over: Partial<MemoryRecord> = {}): MemoryRecord {
  const now = new Date();
  return {
    id: crypto.randomUUID(),
    ownerId: 'owner-1',
    agentId: null,
    kind: 'note',
    content: 'hello',
    metadata: { n: 1 },
    createdAt: now,
    updatedAt: now,
    ...over,
  };
}

const later = (d: Date, ms: number) => new Date(d.getTime() + ms);

describe('Postgres store', () => {
  it('never lets an older updatedAt overwrite a newer version', async () => {
    const store = new PgStore(db.pool);
    const v1 = rec({ content: 'v1' });
    const v2 = { ...v1, content: 'v2', updatedAt: later(v1.updatedAt, 5) };
    expect(await store.put(v1)).toBe('written');
    expect(await store.put(v2)).toBe('written');
    expect(await store.put(v1)).toBe('stale');
    expect(await store.put(v2)).toBe('stale'); // equal version: nothing to do
    expect((await store.get(v1.id))?.content).toBe('v2');
  });

  it('keeps a deleted record deleted when a late back-fill upserts it', async () => {
    const store = new PgStore(db.pool);
    const r = rec();
    await store.put(r);
    const createdAt = await store.delete(r.id, new Date());
    expect(createdAt?.getTime()).toBe(r.createdAt.getTime());
    const late = await db.withClient((c) => upsertRecords(c, [{ ...r, updatedAt: later(r.updatedAt, 1000) }]));
    expect(late).toMatchObject({ written: 0, skippedDeleted: 1, skippedStale: 0 });
    expect(await store.get(r.id)).toBeNull();
  });

  it('tombstones a delete of a record the table never held when its createdAt is known', async () => {
    const r = rec();
    const res = await db.withClient((c) => deleteRecords(c, [{ id: r.id, createdAt: r.createdAt }]));
    expect(res).toEqual({ deleted: [], tombstoned: 1 });
    const fill = await db.withClient((c) => upsertRecords(c, [r]));
    expect(fill.skippedDeleted).toBe(1);
    expect(await new PgStore(db.pool).get(r.id)).toBeNull();
  });

  it('upserts a batch in one call and reports written, stale and deleted rows', async () => {
    const fresh = Array.from({ length: 50 }, (_, i) => rec({ content: `b${i}` }));
    const first = await db.withClient((c) => upsertRecords(c, fresh));
    expect(first).toEqual({ written: 50, skippedStale: 0, skippedDeleted: 0, idConflicts: [], partitionsCreated: [] });
    await db.withClient((c) => deleteRecords(c, fresh.slice(0, 5).map((r) => r.id)));
    const newer = fresh.slice(5, 15).map((r) => ({ ...r, content: 'newer', updatedAt: later(r.updatedAt, 10) }));
    // The batch carries duplicates of one id: only its newest version counts.
    const again = await db.withClient((c) => upsertRecords(c, [...fresh, ...newer, { ...fresh[20], updatedAt: later(fresh[20].updatedAt, -1) }]));
    expect(again).toEqual({ written: 10, skippedStale: 35, skippedDeleted: 5, idConflicts: [], partitionsCreated: [] });
    const count = await db.pool.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE content = 'newer')::int AS newer FROM memory_records WHERE id = ANY($1::uuid[])`, [fresh.map((r) => r.id)]);
    expect(count.rows[0]).toEqual({ n: 45, newer: 10 });
  });

  it('creates the missing monthly partition and writes a record for a month with none', async () => {
    const old = new Date(Date.UTC(2019, 2, 15, 12, 0, 0)); // March 2019: 002 pre-creates only now..+2 months
    const exists = async () => (await db.pool.query(`SELECT to_regclass('memory_records_2019_03') IS NOT NULL AS e`)).rows[0].e;
    expect(await exists()).toBe(false);
    const r = rec({ createdAt: old, updatedAt: new Date() });
    const res = await db.withClient((c) => upsertRecords(c, [r, rec()]));
    expect(res.partitionsCreated).toEqual(['memory_records_2019_03']);
    expect(res.written).toBe(2);
    expect(await exists()).toBe(true);
    const where = await db.pool.query(`SELECT tableoid::regclass::text AS part FROM memory_records WHERE id = $1`, [r.id]);
    expect(where.rows[0].part).toBe('memory_records_2019_03');
    // The single-record path does the same.
    const r2 = rec({ createdAt: new Date(Date.UTC(2018, 6, 1, 0, 0, 0)) });
    expect(await new PgStore(db.pool).put(r2)).toBe('written');
    expect((await new PgStore(db.pool).get(r2.id))?.createdAt.getTime()).toBe(r2.createdAt.getTime());
  });

  it('lists by owner and computes the same checksum in SQL as checksum.ts does in Node', async () => {
    const store = new PgStore(db.pool);
    const owner = `own-${crypto.randomUUID()}`;
    // A month no other test writes to, so the range holds exactly these rows.
    const t0 = new Date(Date.UTC(2016, 4, 10));
    const rows = [rec({ ownerId: owner, content: 'a', createdAt: t0 }), rec({ ownerId: owner, content: 'b', createdAt: later(t0, 1), kind: 'fact' })];
    for (const r of rows) await store.put(r);
    const listed = await store.listByOwner(owner, 10);
    expect(listed.map((r) => r.content)).toEqual(['a', 'b']);
    const sqlSum = await store.checksum({ from: new Date(Date.UTC(2016, 4, 1)), to: new Date(Date.UTC(2016, 5, 1)) });
    expect(sqlSum).toEqual(checksumOf(rows));
    expect(sqlSum.count).toBe(2);
  });

  it('works on the heap table of 001 with the same ON CONFLICT (id, created_at)', async () => {
    const heap = await freshDatabase('heap');
    const pool = new Pool({ connectionString: heap.url });
    try {
      const c = await pool.connect();
      try {
        await applyPlan(c, 'heap');
        const r = rec({ createdAt: new Date(Date.UTC(2017, 0, 1)) });
        expect((await upsertRecords(c, [r])).written).toBe(1);
        expect((await upsertRecords(c, [{ ...r, content: 'x', updatedAt: later(r.updatedAt, -1) }])).skippedStale).toBe(1);
        expect((await deleteRecords(c, [r.id])).deleted.map((d) => d.id)).toEqual([r.id]);
        expect((await upsertRecords(c, [{ ...r, updatedAt: later(r.updatedAt, 9) }])).skippedDeleted).toBe(1);
      } finally {
        c.release();
      }
    } finally {
      await pool.end();
      await heap.drop();
    }
  });

  it('mirrors every write into a second table in the same transaction: both or neither', async () => {
    const heap = await freshDatabase('mirror');
    const pool = new Pool({ connectionString: heap.url });
    pool.on('error', () => undefined);
    try {
      const c = await pool.connect();
      try {
        await applyPlan(c, 'heap');
        await applyPlan(c, 'conversion'); // memory_records_partitioned, current + 2 months
      } finally {
        c.release();
      }
      const store = new PgStore(pool).withMirror('memory_records_partitioned');
      const count = async (t: string, id: string) => (await pool.query(`SELECT count(*)::int AS n FROM ${t} WHERE id = $1`, [id])).rows[0].n;
      // A month the mirror has no partition for: created on the fly (the heap needs none).
      const r = rec({ createdAt: new Date(Date.UTC(2019, 6, 1)) });
      expect(await store.put(r)).toBe('written');
      expect([await count('memory_records', r.id), await count('memory_records_partitioned', r.id)]).toEqual([1, 1]);
      const v2 = { ...r, content: 'v2', updatedAt: later(r.updatedAt, 5) };
      expect(await store.put(v2)).toBe('written');
      const both = await pool.query(`SELECT (SELECT content FROM memory_records WHERE id = $1) AS a, (SELECT content FROM memory_records_partitioned WHERE id = $1) AS b`, [r.id]);
      expect(both.rows[0]).toEqual({ a: 'v2', b: 'v2' });
      expect(await store.delete(r.id, new Date())).toEqual(r.createdAt);
      expect([await count('memory_records', r.id), await count('memory_records_partitioned', r.id)]).toEqual([0, 0]);

      // The mirror fails (its partition detached and none can be created): the primary write is
      // rolled back with it, and the error names the mirror.
      const s = rec({ createdAt: new Date(Date.UTC(2019, 6, 2)) });
      await pool.query(`ALTER TABLE memory_records_partitioned DETACH PARTITION memory_records_2019_07`);
      await pool.query(`ALTER TABLE memory_records_2019_07 RENAME TO detached_2019_07`);
      await pool.query(`CREATE OR REPLACE FUNCTION create_monthly_partition(month date, parent text DEFAULT 'memory_records') RETURNS text LANGUAGE plpgsql AS $f$ BEGIN RAISE EXCEPTION 'no partitions today'; END $f$`);
      const err = await store.put(s).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/memory_records_partitioned.*no partitions today/);
      expect([await count('memory_records', s.id), await count('memory_records_partitioned', s.id)]).toEqual([0, 0]);
    } finally {
      await pool.end();
      await heap.drop();
    }
  });
});
