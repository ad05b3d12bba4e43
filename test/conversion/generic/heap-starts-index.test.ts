import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../helpers/db';
import { readTableDescriptor } from '../../../activities/conversion/descriptor';
import { analyse } from '../../../activities/conversion/plan/analyse';
import { conversionNames } from '../../../activities/conversion/plan/names';
import { pendingSql } from '../../../activities/conversion/plan/pending';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { floorTo, partitionName, type PartitionType } from '../../../src/conversion/choice/intervals';

/**
 * Right after the sync's installation the run makes a partition for every interval of the heap's
 * rows that has none (activities/conversion/generic/partitions.ts partitionsForHeap). On a large
 * heap its one scan outlived the activity's timeout (7.8 s at 10M rows, a 10-minute limit: ~1B rows),
 * so a heap with a btree index led by the column is read through it instead: a skip scan, one index
 * probe per interval that has rows, and two index ranges for the values no interval holds. Both
 * must name the same intervals and count the same rows, on every type, interval and zone.
 */
const db = useTestDatabase();

const ROWS: Record<PartitionType, string[]> = {
  date: ['-infinity', 'infinity', '0044-03-15 BC', '0001-01-01', '9999-12-31', '10000-01-01', '2024-02-29', '2024-03-01', '2024-12-31', '2025-01-01', '2019-07-04'],
  'timestamp without time zone': ['-infinity', 'infinity', '0001-12-31 23:59:59.999999 BC', '0001-01-01 00:00:00', '9999-12-31 23:59:59.999999', '10000-01-01 00:00:00',
    '2024-02-29 23:59:59.999999', '2024-03-01 00:00:00', '2024-12-30 12:00', '2025-01-01 00:00', '2019-07-04 10:00'],
  'timestamp with time zone': ['-infinity', 'infinity', '0001-01-01 03:00:00+00', '0001-01-01 06:00:00+00', '9999-12-31 23:59:59.999999+00', '9999-12-31 23:00:00-05',
    '10000-01-01 06:00:00+00', '2024-02-29 23:30:00+00', '2024-02-29 23:30:00-05', '2024-03-31 23:59:59.999999+00', '2024-04-01 00:00:00+00', '2024-12-30 22:00:00-08', '2019-07-04 10:00+02'],
};

describe("the heap's intervals after the sync's installation, through the column's index", () => {
  it('names the same intervals without a partition and counts the same unplaceable rows as the scan, on every type, interval and session zone', async () => {
    let n = 0;
    for (const type of Object.keys(ROWS) as PartitionType[]) {
      for (const interval of ['day', 'week', 'month', 'quarter', 'year'] as const) {
        const t = `hs${n++}`;
        const values = ROWS[type].map((v) => `('${v}'::${type})`).join(', ');
        await db.pool.query(`CREATE TABLE ${t} (id bigserial PRIMARY KEY, at ${type});
          INSERT INTO ${t} (at) VALUES ${values}, (NULL);
          INSERT INTO ${t} (at) SELECT '2023-01-01'::${type} + g * interval '5 days 7 hours' FROM generate_series(1, 120) g;
          CREATE INDEX ${t}_at ON ${t} (at);
          ANALYZE ${t}`);
        // The statements as the plan makes them (the plan itself is blocked by these rows: NULLs and values no interval holds).
        const choice = parseConversionChoice({ table: t, partitionBy: { column: 'at', interval } });
        const d = await db.withClient((c) => readTableDescriptor(c, choice.table));
        const pending = pendingSql(d, analyse(d, null, choice, 0), choice, conversionNames(d), type);
        // Some intervals have a partition already (a table by the partition's name is what the probe looks for): they are not named.
        for (const at of [Date.UTC(2024, 1, 29), Date.UTC(2023, 5, 1)]) await db.pool.query(`CREATE TABLE IF NOT EXISTS ${partitionName(t, interval, floorTo(interval, at))} ()`);
        const scan0 = (await db.pool.query<{ start: string }>(pending.heapOutsideSql)).rows.map((r) => r.start);
        expect(scan0.length, `${type} ${interval}`).toBeGreaterThanOrEqual(2);
        expect(scan0).not.toContain(new Date(floorTo(interval, Date.UTC(2024, 1, 29))).toISOString().slice(0, 10));
        for (const z of ['UTC', 'America/New_York', 'Asia/Kathmandu']) {
          await db.withClient(async (c) => {
            await c.query(`SET TimeZone = '${z}'`);
            const scan = (await c.query<{ start: string }>(pending.heapOutsideSql)).rows.map((r) => r.start);
            const index = (await c.query<{ start: string }>(pending.byIndex.heapOutsideSql)).rows.map((r) => r.start);
            expect(index, `${type} ${interval} ${z}`).toEqual(scan);
            const bad = (await c.query<{ n: number }>(pending.heapUnplaceableSql)).rows[0].n;
            expect((await c.query<{ n: number }>(pending.byIndex.heapUnplaceableSql)).rows[0].n, `${type} ${interval} ${z}`).toBe(bad);
            expect(bad).toBeGreaterThanOrEqual(4);
            // The skip scan reads the index, never the table whole.
            await c.query('SET enable_seqscan = off');
            const plan2 = (await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${pending.byIndex.heapOutsideSql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
            expect(plan2).not.toMatch(/Seq Scan on hs/);
            await c.query('RESET enable_seqscan');
          });
        }
      }
    }
  });
});
