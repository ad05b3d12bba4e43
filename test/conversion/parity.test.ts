import { describe, expect, it } from 'vitest';
import { createProfileResolver } from '../../src/config/profiles';
import { createParityActivities } from '../../activities/conversion/parity';
import { createShadowActivities } from '../../activities/conversion/shadow';
import { useTestDatabase } from '../helpers/db';
import { seedHeap } from './harness';

const db = useTestDatabase('heap');

describe('parity per month and repair (activities on the real Postgres)', () => {
  it('finds the months that differ and repairs missing, stale and extra shadow rows', async () => {
    const p = createProfileResolver({ default: db.url });
    try {
      await seedHeap(db.pool, 3000, 4);
      const months = (await db.pool.query<{ m: string }>(
        `SELECT to_char(date_trunc('month', created_at), 'YYYY-MM-DD') AS m FROM memory_records GROUP BY 1 ORDER BY 1`)).rows.map((r) => r.m);
      await createShadowActivities({ profiles: p }).createShadow({ profile: 'default', months, premakeMonths: 2 });
      await db.pool.query(`INSERT INTO memory_records_partitioned SELECT * FROM memory_records`);
      const parity = createParityActivities({ profiles: p });
      expect((await parity.verifyConversionParity({ profile: 'default' })).every((m) => m.match)).toBe(true);

      // Damage three months: a row missing, a stale version, a row the heap does not hold.
      const [a, b, c] = (await db.pool.query<{ id: string; created_at: Date }>(
        `SELECT DISTINCT ON (date_trunc('month', created_at)) id, created_at FROM memory_records ORDER BY date_trunc('month', created_at), id LIMIT 3`)).rows;
      await db.pool.query(`DELETE FROM memory_records_partitioned WHERE id = $1`, [a.id]);
      await db.pool.query(`UPDATE memory_records_partitioned SET content = 'stale', updated_at = updated_at - interval '1 hour' WHERE id = $1`, [b.id]);
      await db.pool.query(`INSERT INTO memory_records_partitioned (id, owner_id, content, created_at) VALUES (gen_random_uuid(), 'ghost', 'resurrected', $1)`, [c.created_at]);

      const bad = (await parity.verifyConversionParity({ profile: 'default' })).filter((m) => !m.match);
      expect(bad).toHaveLength(3);
      const repaired = [];
      for (const m of bad) repaired.push(await parity.repairConversionMonth({ profile: 'default', month: m.month }));
      expect(repaired.map((r) => [r.upserted, r.deleted])).toEqual([[1, 0], [1, 0], [0, 1]]);
      expect((await parity.verifyConversionParity({ profile: 'default' })).every((m) => m.match)).toBe(true);
    } finally {
      await p.close();
    }
  });
});
