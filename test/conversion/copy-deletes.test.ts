import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createProfileResolver } from '../../src/config/profiles';
import { createCopyActivities, START_CURSOR, type CopySliceResult } from '../../activities/conversion/copy';
import { compareMonths, nextMonth } from '../../activities/conversion/parity';
import { createShadowActivities } from '../../activities/conversion/shadow';
import { rangeChecksumSql } from '../../src/memory-layer/checksum';
import { DEFAULT_COPY_BATCH } from '../../workflows/conversion-input';
import { useTestDatabase } from '../helpers/db';
import { seedHeap } from './harness';

const db = useTestDatabase('heap');
const LOCK = { lockTimeoutMs: 500, maxTries: 20, backoffMs: 20, maxBackoffMs: 200 };

describe('the heap → shadow copy under concurrent deletes and updates (activities on the real Postgres)', () => {
  it('never brings a deleted row back and never writes an older version over a newer one', async () => {
    const p = createProfileResolver({ default: db.url });
    try {
      await seedHeap(db.pool, 6000, 4);
      const months = (await db.pool.query<{ m: string }>(
        `SELECT to_char(date_trunc('month', created_at), 'YYYY-MM-DD') AS m FROM memory_records GROUP BY 1 ORDER BY 1`)).rows.map((r) => r.m);
      const shadow = createShadowActivities({ profiles: p });
      await shadow.createShadow({ profile: 'default', months, premakeMonths: 2 });
      await shadow.installForwardSync({ profile: 'default', lock: LOCK });
      const copy = createCopyActivities({ profiles: p });
      const env = new MockActivityEnvironment();
      const { upperBound } = (await env.run(copy.copyUpperBound, { profile: 'default' })) as Awaited<ReturnType<typeof copy.copyUpperBound>>;

      // Writers in the copy's path: every 7th row deleted, every 11th updated, in key order
      // (what the copy reads next), while the copy runs in small batches.
      const victims = (await db.pool.query<{ id: string; n: number }>(
        `SELECT id::text AS id, (row_number() OVER (ORDER BY created_at, id))::int AS n FROM memory_records ORDER BY created_at, id`)).rows;
      const deleted: string[] = [];
      const updated: string[] = [];
      let copying = true;
      const writer = (async () => {
        for (const v of victims) {
          if (!copying) break;
          if (v.n % 7 === 0) {
            await db.pool.query(`DELETE FROM memory_records WHERE id = $1`, [v.id]);
            deleted.push(v.id);
          } else if (v.n % 11 === 0) {
            await db.pool.query(`UPDATE memory_records SET content = 'updated during copy', updated_at = now() + interval '1 day' WHERE id = $1`, [v.id]);
            updated.push(v.id);
          }
        }
      })();
      let cursor = START_CURSOR;
      for (;;) {
        const r = (await env.run(copy.copyHeapSlice, {
          profile: 'default', cursor, upperBound, batchSize: 150, maxRowsPerSecond: 0, pauseMsBetweenBatches: 2, sliceSeconds: 1,
        })) as CopySliceResult;
        cursor = r.cursor;
        if (r.done) break;
      }
      copying = false;
      await writer;
      expect(deleted.length).toBeGreaterThan(0);
      expect(updated.length).toBeGreaterThan(0);

      const back = await db.pool.query(`SELECT id FROM memory_records_partitioned WHERE id = ANY($1::uuid[])`, [deleted]);
      expect(back.rowCount).toBe(0);
      const stale = await db.pool.query(
        `SELECT s.id FROM memory_records_partitioned s JOIN memory_records h USING (id, created_at)
          WHERE s.id = ANY($1::uuid[]) AND (s.updated_at, s.content) IS DISTINCT FROM (h.updated_at, h.content)`, [updated]);
      expect(stale.rowCount).toBe(0);
      expect((await compareMonths(db.pool, 'memory_records', 'memory_records_partitioned')).every((m) => m.match)).toBe(true);
    } finally {
      await p.close();
    }
  });

  it('compareMonths (one aggregate scan per table) gives each month the same count and checksum as a range query', async () => {
    await seedHeap(db.pool, 2000, 5);
    // A month with no rows between two that have rows, and a row on a month's first instant.
    await db.pool.query(`DELETE FROM memory_records WHERE date_trunc('month', created_at) = date_trunc('month', now() - interval '60 days')`);
    await db.pool.query(`UPDATE memory_records SET created_at = date_trunc('month', created_at) WHERE id = (SELECT id FROM memory_records ORDER BY id LIMIT 1)`);
    await db.pool.query(`CREATE TABLE parity_copy AS SELECT * FROM memory_records`);
    await db.pool.query(`DELETE FROM parity_copy WHERE id = (SELECT id FROM parity_copy ORDER BY id DESC LIMIT 1)`);
    const out = await compareMonths(db.pool, 'memory_records', 'parity_copy');
    expect(out.length).toBeGreaterThanOrEqual(5);
    expect(out.filter((m) => !m.match)).toHaveLength(1);
    for (const m of out) {
      for (const [table, got] of [['memory_records', m.source], ['parity_copy', m.shadow]] as const) {
        const r = await db.pool.query<{ count: string; sum: string }>(rangeChecksumSql(table), [m.month, nextMonth(m.month)]);
        expect(got).toEqual({ count: Number(r.rows[0].count), sum: r.rows[0].sum });
      }
    }
    expect(out.some((m) => m.source.count === 0 && m.shadow.count === 0)).toBe(true);
  });

  it('the default copy batch is 10000 rows', () => {
    expect(DEFAULT_COPY_BATCH).toBe(10_000);
  });
});
