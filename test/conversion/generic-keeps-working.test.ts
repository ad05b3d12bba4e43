import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { approveUpdate, statusQuery } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import type { TableMaintenanceSummary } from '../../workflows/maintenance';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { buildAuditReport } from '../../src/audit/report';
import { APP_ROLE_SQL } from './generic/shapes';
import { startWorker, waitFor } from './harness';

/**
 * Issue 22, findings 5, 7 and 9 and the review's: a `day` conversion of a table with a quoted,
 * mixed-case name with a space, owned by a role that is not the worker's, run as one workflow
 * under the generic load as the app role. After the run the table takes writes 10 and 40 days
 * ahead, every partition (made at the copy, for a pending write, ahead, by maintenance) belongs
 * to the table's owner with its grants, the table's maintenance Schedule exists, the swap's lock
 * time is recorded, and the materialized view is filled again after the swap.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const owner = `sales_owner_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const TABLE = '"SalesEU"."Order Events"';
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;
let appPool: Pool;

const SQL = `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${owner}') THEN CREATE ROLE ${owner} NOLOGIN; END IF; END $$;
  CREATE SCHEMA "SalesEU"; GRANT USAGE ON SCHEMA "SalesEU" TO ${app};
  CREATE TABLE ${TABLE} (id bigserial PRIMARY KEY, "Placed At" timestamptz NOT NULL DEFAULT now(), amount numeric(12,2) NOT NULL, note text);
  INSERT INTO ${TABLE} ("Placed At", amount, note) SELECT now() - g * interval '23 minutes', g / 7.0, 'n' || g FROM generate_series(1, 1200) g;
  CREATE MATERIALIZED VIEW "SalesEU"."Daily Totals" AS SELECT date_trunc('day', "Placed At") AS d, count(*) AS n FROM ${TABLE} GROUP BY 1;
  ALTER TABLE ${TABLE} OWNER TO ${owner};
  ALTER MATERIALIZED VIEW "SalesEU"."Daily Totals" OWNER TO ${owner};
  GRANT SELECT, INSERT, UPDATE, DELETE ON ${TABLE} TO ${app};
  GRANT USAGE ON SEQUENCE "SalesEU"."Order Events_id_seq" TO ${app};
  GRANT SELECT ON "SalesEU"."Daily Totals" TO ${app};`;

/** Every partition of the table: name, owner, and whether the app role holds the table's grants on it directly. */
const partitions = async () =>
  (await db.pool.query<{ name: string; owner: string; app_select: boolean; app_insert: boolean }>(
    `SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner, has_table_privilege($1, c.oid, 'SELECT') AS app_select, has_table_privilege($1, c.oid, 'INSERT') AS app_insert
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $2::regclass ORDER BY 1`, [app, TABLE])).rows;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-keeps-working');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(SQL);
  appPool = new Pool({ connectionString: appUrl(), max: 2 });
});
afterAll(async () => {
  await appPool?.end();
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

describe('after the conversion, the table keeps working (issue 22: findings 5, 7, 9)', () => {
  it(`converts ${TABLE} by day under the generic load: partitions ahead and owned by the table's owner, the Schedule made, the lock time recorded, oracle at zero`, async () => {
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(TABLE)))));
    const baseline = await readImages(db.pool, TABLE, key);
    const load = await startSqlLoad({ url: appUrl(), table: TABLE, ratePerSec: 100, seed: 11, baseline, spreadDays: 20 });
    let summary: GenericConversionSummary;
    const far = Date.now() + 200 * 86_400_000;
    let scheduleId = '';
    let history: Awaited<ReturnType<ReturnType<typeof temporal.client.workflow.getHandle>['fetchHistory']>>;
    try {
      await new Promise((r) => setTimeout(r, 500));
      const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId: `keeps-working-${taskQueue}`,
        args: [{ table: TABLE, partitionBy: { column: '"Placed At"', interval: 'day' }, nonProduction: true, retentionMinutes: 0, copy: { batchSize: 200 } }],
      });
      await waitFor('the before-swap gate', async () => (await handle.query(statusQuery)).state === 'waiting-for-approval', 90_000);
      // The sync is in place: a write dated 200 days ahead (beyond the 45 days premade) is accepted, and no partition is made in its transaction.
      await appPool.query(`INSERT INTO ${TABLE} ("Placed At", amount, note) VALUES ($1, 1, 'far ahead')`, [new Date(far).toISOString()]);
      expect((await partitions()).length).toBe(0); // still the heap
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'parity seen', gate: 'before-swap' }] });
      await waitFor('the drop-old-table gate', async () => {
        const st = await handle.query(statusQuery);
        return st.state === 'waiting-for-approval' && st.phases.some((p) => p.phase === 'retention');
      }, 90_000);
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'old table verified', gate: 'drop-old-table' }] });
      summary = (await handle.result()) as GenericConversionSummary;
      history = await handle.fetchHistory();
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await load.stop();
    }
    expect(summary.outcome, summary.cause).toBe('completed');
    expect(summary.phases.map((p) => p.phase)).toEqual(['preflight', 'create shadow', 'install sync', 'copy', 'verify', 'swap', 'post-swap check', 'retention', 'drop old table', 'partitions ahead', 'maintenance schedule', 'summary']);
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(50);
    const v = await judgeRows(db.pool, TABLE, key, baseline, load.log);
    v.extra -= 1; // the far-ahead row, written outside the generator's log
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM ${TABLE} WHERE note = 'far ahead'`)).rows[0].n).toBe(1);

    // The swap's lock time: in the result, in the audit report.
    expect(typeof summary.swap!.lockMs).toBe('number');
    expect(summary.swap!.lockMs!).toBeGreaterThanOrEqual(0);
    const report = buildAuditReport(history!, { workflowId: `keeps-working-${taskQueue}` });
    expect(report.swaps).toEqual([expect.objectContaining({ activity: 'swapGeneric', direction: 'forward', lockMs: summary.swap!.lockMs })]);

    // The plan said how the table keeps working; the run made the Schedule.
    expect(summary.plan!.afterSwap!.maintenance).toMatchObject({ schedule: true, everyHours: 24, input: { table: 'SalesEU."Order Events"', premake: 45 } });
    const made = summary.keepsWorking!.schedule as { scheduleId: string; outcome: string; taskQueue: string };
    expect(made).toMatchObject({ outcome: 'created', taskQueue });
    scheduleId = made.scheduleId;
    const described = await temporal.client.schedule.getHandle(scheduleId).describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'partitionMaintenance', taskQueue });
    expect((described.action as { args: unknown[] }).args[0]).toEqual({ table: 'SalesEU."Order Events"', connectionProfile: 'default', premake: 45 });
    await temporal.client.schedule.getHandle(scheduleId).delete();

    // Every partition — at the copy, for the pending write, ahead — belongs to the table's owner and carries its grants.
    const parts = await partitions();
    expect(parts.length).toBeGreaterThan(60);
    expect(parts.filter((p) => p.owner !== owner || !p.app_select || !p.app_insert)).toEqual([]);
    // The materialized view was recreated WITH NO DATA in the swap and refilled after it.
    expect((await db.pool.query(`SELECT sum(n)::int AS n FROM "SalesEU"."Daily Totals"`)).rows[0].n).toBeGreaterThan(1000);

    // After the run: the app role writes rows dated 10 and 40 days ahead; both are accepted.
    for (const days of [10, 40]) {
      await appPool.query(`INSERT INTO ${TABLE} ("Placed At", amount, note) VALUES (now() + $1 * interval '1 day', 1, 'ahead')`, [days]);
    }
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM ${TABLE} WHERE note = 'ahead'`)).rows[0].n).toBe(2);

    // The scheduled maintenance, run as the Schedule would (its input), 50 days on: its partitions belong to the owner too.
    const m = (await temporal.client.workflow.execute('partitionMaintenance', {
      taskQueue, workflowId: `keeps-working-maint-${taskQueue}`, args: [{ table: 'SalesEU."Order Events"', connectionProfile: 'default', premake: 45, now: new Date(Date.now() + 50 * 86_400_000).toISOString() }],
    })) as TableMaintenanceSummary;
    expect(m.premade.created.length).toBeGreaterThan(0);
    const after = await partitions();
    expect(after.filter((p) => m.premade.created.includes(p.name)).map((p) => [p.owner, p.app_select])).toEqual(m.premade.created.map(() => [owner, true]));
  });

  it('with options.maintenance.schedule false makes no Schedule and says why, in the plan, the notes and the result', async () => {
    await db.pool.query(`CREATE TABLE "SalesEU".quiet (id bigserial PRIMARY KEY, at date NOT NULL, v int NOT NULL);
      INSERT INTO "SalesEU".quiet (at, v) SELECT current_date - g, g FROM generate_series(1, 200) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON "SalesEU".quiet TO ${app}; GRANT USAGE ON SEQUENCE "SalesEU".quiet_id_seq TO ${app};`);
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName('SalesEU.quiet')))));
    const baseline = await readImages(db.pool, '"SalesEU"."quiet"', key);
    const load = await startSqlLoad({ url: appUrl(), table: 'SalesEU.quiet', ratePerSec: 80, seed: 12, baseline, spreadDays: 100 });
    let summary: GenericConversionSummary;
    let notes: string[];
    try {
      await new Promise((r) => setTimeout(r, 300));
      const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId: `quiet-${taskQueue}`,
        args: [{ table: 'SalesEU.quiet', partitionBy: { column: 'at', interval: 'month' }, options: { maintenance: { schedule: false } }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false } }],
      });
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'test-operator', reason: 'pre-approved', gate: 'drop-old-table' }] });
      summary = (await handle.result()) as GenericConversionSummary;
      notes = (await handle.query(statusQuery)).notes;
    } finally {
      await load.stop();
    }
    expect(summary.outcome, summary.cause).toBe('completed');
    expect(summary.phases.map((p) => p.phase)).toEqual(['preflight', 'create shadow', 'install sync', 'copy', 'verify', 'swap', 'post-swap check', 'retention', 'drop old table', 'partitions ahead', 'summary']);
    const why = (summary.plan!.afterSwap!.maintenance as { why: string }).why;
    expect(why).toMatch(/options\.maintenance\.schedule is false: no partitionMaintenance Schedule is made for SalesEU\.quiet/);
    expect(summary.keepsWorking!.schedule).toEqual({ skipped: why });
    expect(notes).toContain(why);
    const schedules: string[] = [];
    for await (const s of temporal.client.schedule.list()) schedules.push(s.scheduleId);
    expect(schedules.filter((id) => id.endsWith(':SalesEU.quiet'))).toEqual([]);
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(20);
    const v = await judgeRows(db.pool, '"SalesEU"."quiet"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });
});
