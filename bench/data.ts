import crypto from 'node:crypto';
import type { Pool } from 'pg';
import type { MemoryRecord } from '../src/memory-layer/record';
import type { MemoryStore } from '../src/memory-layer/storage/memory-store';

/**
 * Synthetic memory records shaped like the service's (a few hundred bytes of content, small
 * metadata), spread evenly over the `months` most recent months, in ascending created_at order
 * (the memory store appends in O(1) then). Content is pseudo-random so it does not compress.
 */
export function* syntheticRecords(count: number, months: number, now = new Date()): Generator<MemoryRecord> {
  const end = now.getTime() - 60_000;
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (months - 1), 1);
  const step = (end - start) / Math.max(1, count);
  for (let i = 0; i < count; i++) {
    const createdAt = new Date(Math.floor(start + i * step));
    yield {
      id: crypto.randomUUID(),
      ownerId: `owner-${i % 97}`,
      agentId: i % 3 === 0 ? `agent-${i % 7}` : null,
      kind: i % 5 === 0 ? 'fact' : 'note',
      content: `memory ${i}: ${crypto.randomBytes(96).toString('base64')}`,
      metadata: { source: 'bench', i },
      createdAt,
      updatedAt: new Date(createdAt.getTime() + 1000),
    };
  }
}

/** Deals `count` records round-robin into the instances' memory stores (the Phase 2 state). */
export function fillMemoryStores(stores: MemoryStore[], count: number, months: number): void {
  let i = 0;
  for (const r of syntheticRecords(count, months)) {
    if (stores[i++ % stores.length].putSync(r) !== 'written') throw new Error(`bench seed: record ${r.id} was not written to the memory store`);
  }
}

/**
 * Seeds a heap-shaped table with `rows` rows over the last `months` months in one statement
 * (server-side, so seeding time stays out of every measurement), then VACUUM ANALYZE so the
 * first scan of any contender does not pay for hint bits.
 */
export async function seedTable(pool: Pool, table: string, rows: number, months: number): Promise<void> {
  await pool.query(
    `INSERT INTO ${table} (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at)
     SELECT gen_random_uuid(), 'owner-' || (g % 97), CASE WHEN g % 3 = 0 THEN 'agent-' || (g % 7) END,
            CASE WHEN g % 5 = 0 THEN 'fact' ELSE 'note' END,
            'memory ' || g || ': ' || md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) || md5((g * 31)::text),
            jsonb_build_object('source', 'bench', 'i', g),
            ts, ts + interval '1 second'
       FROM generate_series(1, $1::int) g,
            LATERAL (SELECT date_trunc('month', now()) - make_interval(months => $2::int - 1)
                            + (now() - interval '1 minute' - (date_trunc('month', now()) - make_interval(months => $2::int - 1))) * (g::float8 / $1::int)
                            + g * interval '0 s' AS ts) t`,
    [rows, months],
  );
  await pool.query(`VACUUM ANALYZE ${table}`);
}

/** 'YYYY-MM-01' of every month from `months - 1` months ago to the current one (UTC). */
export function recentMonths(months: number, now = new Date()): string[] {
  return Array.from({ length: months }, (_, k) => {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (months - 1 - k), 1));
    return d.toISOString().slice(0, 10);
  });
}
