import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableMaintenanceSummary } from '../../workflows/maintenance';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { rootMessage, startWorker } from '../conversion/harness';

const db = useTestDatabase('control');
const temporal = useTemporal();
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;
let n = 0;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('table-maintenance');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(`
    CREATE SCHEMA ops;
    -- Weekly, on timestamptz; partition names of its own (a covered range is existing whatever its name).
    CREATE TABLE ops.events (id bigint GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL, body text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE TABLE ops.ev_1 PARTITION OF ops.events FOR VALUES FROM ('2026-11-02 00:00:00+00') TO ('2026-11-09 00:00:00+00');
    CREATE TABLE ops.ev_2 PARTITION OF ops.events FOR VALUES FROM ('2026-11-09 00:00:00+00') TO ('2026-11-16 00:00:00+00');
    CREATE TABLE ops.ev_3 PARTITION OF ops.events FOR VALUES FROM ('2026-11-16 00:00:00+00') TO ('2026-11-23 00:00:00+00');
    CREATE TABLE ops.ev_4 PARTITION OF ops.events FOR VALUES FROM ('2026-11-23 00:00:00+00') TO ('2026-11-30 00:00:00+00');
    CREATE TABLE ops.ev_5 PARTITION OF ops.events FOR VALUES FROM ('2026-11-30 00:00:00+00') TO ('2026-12-07 00:00:00+00');
    CREATE TABLE ops.ev_6 PARTITION OF ops.events FOR VALUES FROM ('2026-12-07 00:00:00+00') TO ('2026-12-14 00:00:00+00');
    INSERT INTO ops.events (at, body) SELECT timestamptz '2026-11-02 00:00:00+00' + g * interval '1 hour', 'e' || g FROM generate_series(0, 800) g;
    -- Daily, on date.
    CREATE TABLE ops.daily (d date NOT NULL, v int) PARTITION BY RANGE (d);
    CREATE TABLE ops.daily_p2026_12_08 PARTITION OF ops.daily FOR VALUES FROM ('2026-12-08') TO ('2026-12-09');
    -- Mixed intervals, not partitioned, partitioned by list.
    CREATE TABLE ops.mixed (t timestamp NOT NULL) PARTITION BY RANGE (t);
    CREATE TABLE ops.mixed_a PARTITION OF ops.mixed FOR VALUES FROM ('2026-10-01 00:00:00') TO ('2026-11-01 00:00:00');
    CREATE TABLE ops.mixed_b PARTITION OF ops.mixed FOR VALUES FROM ('2026-11-01 00:00:00') TO ('2026-11-02 00:00:00');
    CREATE TABLE ops.plain (t timestamptz);
    CREATE TABLE ops.listed (k text) PARTITION BY LIST (k);`);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

const run = (input: Record<string, unknown>) =>
  temporal.client.workflow.execute('partitionMaintenance', { taskQueue, workflowId: `tmaint-${n++}-${taskQueue}`, args: [input] }) as Promise<TableMaintenanceSummary>;
const children = async (parent: string) =>
  (await db.pool.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1`, [parent])).rows.map((r) => r.name);
const exists = async (name: string) => (await db.pool.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [name])).rows[0].ok as boolean;

describe('partitionMaintenance of any table (input with "table")', () => {
  it('reads the interval from the partitions, premakes by the naming scheme, detaches and drops past the retention window', async () => {
    // In a session TimeZone far from UTC: bounds are computed and read in UTC all the same.
    await db.pool.query(`ALTER DATABASE ${db.name} SET TimeZone = 'Pacific/Kiritimati'`);
    const s = await run({ table: 'ops.events', now: '2026-12-09T12:00:00Z', premake: 2, retain: 3, dropDetached: true });
    expect(s).toMatchObject({ table: 'ops.events', column: 'at', interval: 'week' });
    // Current week (Mon 7 Dec, covered by ev_6) and the next two, named by ISO week.
    expect(s.premade).toEqual({ starts: ['2026-12-07T00:00:00.000Z', '2026-12-14T00:00:00.000Z', '2026-12-21T00:00:00.000Z'], created: ['events_p2026w51', 'events_p2026w52'], existing: ['ev_6'] });
    // Wholly older than 3 weeks before the current one (cutoff Mon 16 Nov): the first two weeks.
    expect(s.retention?.cutoff).toBe('2026-11-16T00:00:00.000Z');
    expect(s.retention?.detached.map((d) => [d.partition, d.mode])).toEqual([['ev_1', 'concurrently'], ['ev_2', 'concurrently']]);
    expect(s.retention?.dropped).toEqual(['ev_1', 'ev_2']);
    expect(await children('ops.events')).toEqual(['ev_3', 'ev_4', 'ev_5', 'ev_6', 'events_p2026w51', 'events_p2026w52']);
    expect(await exists('ops.ev_1')).toBe(false);
    const bounds = await db.pool.query<{ b: string }>(`SET TimeZone = 'UTC'; SELECT pg_get_expr(relpartbound, oid) AS b FROM pg_class WHERE oid = 'ops.events_p2026w51'::regclass`).then((r) => (r as unknown as { rows: { b: string }[] }[])[1].rows[0].b);
    expect(bounds).toBe("FOR VALUES FROM ('2026-12-14 00:00:00+00') TO ('2026-12-21 00:00:00+00')");
    // Idempotent.
    const again = await run({ table: 'ops.events', now: '2026-12-09T12:00:00Z', premake: 2, retain: 3 });
    expect(again.premade.created).toEqual([]);
    expect(again.retention?.detached).toEqual([]);
    await db.pool.query(`ALTER DATABASE ${db.name} RESET TimeZone`);
  });

  it('uses the default premake of the interval for a daily table on a date column', async () => {
    const s = await run({ table: 'ops.daily', now: '2026-12-08T23:59:59Z' });
    expect(s.interval).toBe('day');
    expect(s.premade.existing).toEqual(['daily_p2026_12_08']);
    expect(s.premade.created).toEqual(['daily_p2026_12_09', 'daily_p2026_12_10', 'daily_p2026_12_11', 'daily_p2026_12_12', 'daily_p2026_12_13', 'daily_p2026_12_14', 'daily_p2026_12_15']);
    expect(s.retention).toBeNull();
  });

  it('maintains a table partitioned on a domain over timestamptz (as a conversion leaves one: the plan accepts a domain partition column)', async () => {
    // Before: refused as "partitioned on at (ops.moment)": a converted table's run failed at its end (partitions ahead) and its Schedule on every firing.
    await db.pool.query(`
      CREATE DOMAIN ops.moment AS timestamptz CHECK (VALUE > '2000-01-01');
      CREATE TABLE ops.stamped (id bigint NOT NULL, at ops.moment NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE ops.stamped_p2026_12 PARTITION OF ops.stamped FOR VALUES FROM ('2026-12-01 00:00:00+00') TO ('2027-01-01 00:00:00+00');`);
    const s = await run({ table: 'ops.stamped', now: '2026-12-09T12:00:00Z', premake: 2 });
    expect(s).toMatchObject({ table: 'ops.stamped', column: 'at', interval: 'month' });
    expect(s.premade.created).toEqual(['stamped_p2027_01', 'stamped_p2027_02']);
    await db.pool.query(`INSERT INTO ops.stamped VALUES (1, '2027-02-14 10:00:00+00')`);
    expect(await children('ops.stamped')).toEqual(['stamped_p2026_12', 'stamped_p2027_01', 'stamped_p2027_02']);
  });

  it('refuses, naming why, a table it cannot maintain — before changing anything', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ table: 'ops.mixed' }, /cannot read the interval of ops.mixed: its partitions mix intervals|partition mixed_\w .* is not one/],
      [{ table: 'ops.plain' }, /ops.plain is not partitioned \(relkind r\): convert it first with heapToPartitionedConversion/],
      [{ table: 'ops.listed' }, /not partitioned by RANGE on one column/],
      [{ table: 'ops.nope' }, /ops.nope does not exist/],
      [{ table: 'ops.events; DROP TABLE x' }, /invalid input: table/],
      [{ table: 'ops.events', dropDetached: true }, /invalid input: dropDetached: requires retain/],
      [{ table: 'ops.events', premakeMonths: 2 }, /invalid input: premakeMonths/],
    ];
    for (const [input, why] of cases) {
      const err = await run(input).then(() => undefined, (e: unknown) => e);
      expect(rootMessage(err), JSON.stringify(input)).toMatch(why);
    }
    expect(await children('ops.mixed')).toEqual(['mixed_a', 'mixed_b']);
  });
});
