import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { dropUnlessOnlyThere, keptTables } from '../../activities/conversion/keep-or-drop';

const db = useTestDatabase();
const qi = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * A kept table's name `<name>_rolled_back[_n]` must fit 63 bytes, not 63 characters: a longer one
 * is truncated by Postgres, so the result named a table that does not exist, a later rollback's
 * name collided with it on every candidate and its swap back crashed (no free name).
 */
describe('keep-or-drop: the name of a kept table', () => {
  it('fits 63 bytes for a multibyte table name: the result names the real table, twice in a row, and keptTables finds both', async () => {
    const base = 'ü'.repeat(30); // 60 bytes, 30 characters
    await db.pool.query(`CREATE SCHEMA kd; CREATE TABLE kd.${qi(base)} (id int PRIMARY KEY)`);
    const kept: string[] = [];
    for (const round of [1, 2]) {
      await db.pool.query(`CREATE TABLE kd.cand (id int PRIMARY KEY); INSERT INTO kd.cand VALUES (${round})`);
      const r = await db.withClient(async (c) => {
        await c.query('BEGIN');
        try {
          return await dropUnlessOnlyThere(c, { candidate: 'kd.cand', reference: `kd.${qi(base)}`, schema: 'kd', base });
        } finally {
          await c.query('COMMIT');
        }
      });
      expect(r.dropped).toBe(false);
      expect((await db.pool.query(`SELECT to_regclass($1)::text AS t`, [r.kept!.table])).rows[0].t, `${r.kept!.table} exists`).not.toBeNull();
      expect((await db.pool.query(`SELECT id FROM ${r.kept!.table}`)).rows).toEqual([{ id: round }]);
      kept.push(r.kept!.table);
    }
    expect(new Set(kept).size).toBe(2);
    expect((await keptTables(db.pool, 'kd', base)).sort()).toEqual([...kept].sort());
  });
});
