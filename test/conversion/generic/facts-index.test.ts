import { describe, expect, it } from 'vitest';
import type { ClientBase } from 'pg';
import { useTestDatabase } from '../../helpers/db';
import { readTableDescriptor } from '../../../activities/conversion/descriptor';
import { readDataFacts, type DataFacts } from '../../../activities/conversion/plan/facts';
import { buildPlan } from '../../../activities/conversion/plan/plan';
import { renderPlan } from '../../../activities/conversion/plan/render';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import type { PartitionType } from '../../../src/conversion/choice/intervals';

const db = useTestDatabase();

/** Both paths on one table: the index path forced (threshold 0), the full scan forced (threshold ∞). */
async function bothPaths(c: ClientBase, table: string, type: PartitionType) {
  const d = await readTableDescriptor(c, { schema: 'public', name: table });
  const index = await readDataFacts(c, d, 'at', type, { indexFromRows: 0 });
  const scan = await readDataFacts(c, d, 'at', type, { indexFromRows: Number.POSITIVE_INFINITY });
  return { index, scan };
}

const sansRows = ({ rows: _r, rowsEstimated: _e, ...rest }: DataFacts) => rest;

// Edge values of each partition type: NULLs, ±infinity, BC, the last instant of 9999, year 10000 and after.
const EDGES: Record<PartitionType, string[]> = {
  date: ['-infinity', 'infinity', '0044-03-15 BC', '0001-01-01 BC', '0001-01-01', '9999-12-31', '10000-01-01', '12000-06-01', '2024-02-29'],
  'timestamp without time zone': ['-infinity', 'infinity', '0001-12-31 23:59:59.999999 BC', '0001-01-01 00:00:00', '9999-12-31 23:59:59.999999', '10000-01-01 00:00:00', '2024-02-29 12:00:00'],
  // In UTC and in America/New_York (LMT -04:56:02 in year 1, -05:00 in 9999) these fall in different years.
  'timestamp with time zone': ['-infinity', 'infinity', '0001-01-01 03:00:00+00', '0001-01-01 06:00:00+00', '0002-01-01 00:00:00 BC+00', '9999-12-31 23:59:59.999999+00',
    '9999-12-31 23:00:00-05', '10000-01-01 06:00:00+00', '10000-01-01 00:00:00+00', '2024-02-29 23:30:00+00'],
};

async function edgeTable(name: string, type: PartitionType, index = true) {
  const values = EDGES[type].map((v) => `('${v}'::${type})`).join(', ');
  await db.pool.query(`CREATE TABLE ${name} (id bigserial PRIMARY KEY, at ${type}, v int);
    INSERT INTO ${name} (at) VALUES ${values}, (NULL), (NULL), (NULL);
    INSERT INTO ${name} (at) SELECT '2025-01-01'::${type} + g * interval '7 hours' FROM generate_series(1, 500) g;
    ${index ? `CREATE INDEX ${name}_at ON ${name} (at, v);` : ''}
    ANALYZE ${name}`);
}

describe('the plan\'s data facts through the index on the partition column (no full scan on a large table)', () => {
  it('gives the same facts as the full scan on every partition type, with NULLs, ±infinity, BC years, year 9999\'s last instant and year 10000', async () => {
    const types: PartitionType[] = ['date', 'timestamp without time zone', 'timestamp with time zone'];
    for (const [i, type] of types.entries()) {
      await edgeTable(`edge${i}`, type);
      await db.withClient(async (c) => {
        await c.query(`SET TimeZone = 'UTC'`);
        const { index, scan } = await bothPaths(c, `edge${i}`, type);
        expect(index.rowsEstimated).toBe(true);
        expect(scan.rowsEstimated).toBeUndefined();
        expect(sansRows(index)).toEqual(sansRows(scan));
        expect(scan.nulls).toBe(3);
        expect(scan.outside).toBeGreaterThanOrEqual(4);
        expect(scan.outsideAbove).toBeGreaterThanOrEqual(2);
        expect(scan.outsideAbove).toBeLessThan(scan.outside);
      });
    }
  });

  it('keeps the session TimeZone\'s meaning of a timestamptz\'s year: both paths agree in a zone other than UTC, and differ from UTC where the old scan did', async () => {
    await edgeTable('tz', 'timestamp with time zone');
    const inZone = (zone: string) => db.withClient(async (c) => {
      await c.query(`SET TimeZone = '${zone}'`);
      return bothPaths(c, 'tz', 'timestamp with time zone');
    });
    const utc = await inZone('UTC');
    const ny = await inZone('America/New_York');
    const kathmandu = await inZone('Asia/Kathmandu');
    for (const z of [ny, kathmandu]) expect(sansRows(z.index)).toEqual(sansRows(z.scan));
    // The zone changes which values are outside (year 1 03:00 UTC is year 1 BC in New York; 9999-12-31 23:00-05 is year 10000 in UTC).
    expect(ny.scan.outside).not.toBe(utc.scan.outside);
    expect(ny.scan.min).not.toBe(utc.scan.min);
    expect(ny.index.outsideAbove).toBe(ny.scan.outsideAbove);
  });

  it('agrees on a table with no value outside, no NULL, and on an empty table', async () => {
    await db.pool.query(`CREATE TABLE plain (id bigint PRIMARY KEY, at timestamptz NOT NULL);
      INSERT INTO plain SELECT g, timestamptz '2026-01-03 00:00+00' + g * interval '1 hour' FROM generate_series(1, 3000) g;
      CREATE INDEX ON plain (at); CREATE TABLE empty (id bigint PRIMARY KEY, at date); CREATE INDEX ON empty (at)`);
    await db.withClient(async (c) => {
      const p = await bothPaths(c, 'plain', 'timestamp with time zone');
      expect(sansRows(p.index)).toEqual(sansRows(p.scan));
      expect(p.scan).toMatchObject({ rows: 3000, nulls: 0, outside: 0, minDay: '2026-01-03', maxDay: '2026-05-08' });
      const e = await bothPaths(c, 'empty', 'date');
      expect(sansRows(e.index)).toEqual(sansRows(e.scan));
      expect(e.scan).toEqual({ rows: 0, nulls: 0, outside: 0, outsideAbove: 0, minDay: null, maxDay: null, min: null, max: null });
    });
  });

  it('scans the table whole when no valid, non-partial btree index leads with the column itself', async () => {
    await db.pool.query(`CREATE TABLE noidx (id bigint PRIMARY KEY, at date, k int);
      INSERT INTO noidx SELECT g, date '2026-01-01' + g, g FROM generate_series(1, 200) g`);
    const indexes = [
      '',
      'CREATE INDEX noidx_partial ON noidx (at) WHERE at > \'2026-02-01\'',
      'CREATE INDEX noidx_expr ON noidx ((at + 1))',
      'CREATE INDEX noidx_second ON noidx (k, at)',
      'CREATE INDEX noidx_hash ON noidx USING hash (at)',
    ];
    await db.withClient(async (c) => {
      for (const ddl of indexes) {
        if (ddl) await c.query(ddl);
        const f = await readDataFacts(c, await readTableDescriptor(c, { schema: 'public', name: 'noidx' }), 'at', 'date', { indexFromRows: 0 });
        expect(f.rowsEstimated, ddl || 'no index').toBeUndefined();
        expect(f.rows).toBe(200);
      }
      await c.query('CREATE INDEX noidx_at ON noidx (at)');
      const f = await readDataFacts(c, await readTableDescriptor(c, { schema: 'public', name: 'noidx' }), 'at', 'date', { indexFromRows: 0 });
      expect(f.rowsEstimated).toBe(true);
    });
  });

  it('takes the full scan below the threshold by default; the estimate is near the truth after ANALYZE and shows as an estimate in the plan', async () => {
    await db.pool.query(`CREATE TABLE big (id bigint PRIMARY KEY, at timestamptz NOT NULL, v text);
      INSERT INTO big SELECT g, timestamptz '2025-01-01' + g * interval '5 minutes', md5(g::text) FROM generate_series(1, 40000) g;
      CREATE INDEX big_at ON big (at); ANALYZE big`);
    await db.withClient(async (c) => {
      const d = await readTableDescriptor(c, { schema: 'public', name: 'big' });
      const exact = await readDataFacts(c, d, 'at', 'timestamp with time zone');
      expect(exact).toMatchObject({ rows: 40000 });
      expect(exact.rowsEstimated).toBeUndefined();
      // The table's scans this backend counted (pg_stat_xact_user_tables, not yet flushed) before and after: the index path reads no sequential scan (the index
      // scans counted show the counters move).
      const scans = async () => (await c.query<{ seq: string; idx: string }>(`SELECT seq_scan::text AS seq, idx_scan::text AS idx FROM pg_stat_xact_user_tables WHERE relname = 'big'`)).rows[0];
      await c.query('BEGIN');
      const before = await scans();
      const est = await readDataFacts(c, d, 'at', 'timestamp with time zone', { indexFromRows: 0 });
      const after = await scans();
      await c.query('COMMIT');
      expect(Number(after.seq) - Number(before.seq)).toBe(0);
      expect(Number(after.idx) - Number(before.idx)).toBeGreaterThan(0);
      expect(sansRows(est)).toEqual(sansRows(exact));
      expect(est.rowsEstimated).toBe(true);
      expect(est.rows).toBeGreaterThan(40000 / 1.5);
      expect(est.rows).toBeLessThan(40000 * 1.5);
      const choice = parseConversionChoice({ table: 'big', partitionBy: { column: 'at', interval: 'month' } });
      const text = renderPlan(buildPlan(d, est, choice, Date.UTC(2025, 6, 1)));
      expect(text).toContain(`≈ ${est.rows.toLocaleString('en-US')} rows (estimate)`);
      expect(renderPlan(buildPlan(d, exact, choice, Date.UTC(2025, 6, 1)))).toContain('rows 40000,');
    });
  });
});
