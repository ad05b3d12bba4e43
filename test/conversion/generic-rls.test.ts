import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { planConversion } from '../../activities/conversion/plan/plan';
import { parseConversionChoice } from '../../src/conversion/choice/choice';
import { wholeParity } from '../../activities/conversion/generic/execute';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './generic/shapes';
import { rootMessage, startWorker, waitFor } from './harness';
import { approveUpdate, statusQuery } from '../../workflows/messages';

/**
 * Issue 22, finding 1: FORCE ROW LEVEL SECURITY with the worker as the table's owner (the README's
 * role layout) and policies hiding tenants from it. Before: the plan noted RLS, the copy copied
 * what the policies showed, parity compared those and matched, the run completed with the hidden
 * tenants' rows gone. Now the plan refuses naming the role and the fix, and the sessions that read
 * rows run with row_security off (an error, never a filter); with BYPASSRLS the run converts
 * every row under the load.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const worker = `conv_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const workerUrl = () => db.url.replace(/\/\/[^@]+@/, `//${worker}:w-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;
const choice = { table: 'tenant.notes', partitionBy: { column: 'created_at', interval: 'month' } };

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-rls');
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${worker}') THEN CREATE ROLE ${worker} LOGIN PASSWORD 'w-pw' NOSUPERUSER NOBYPASSRLS; END IF; END $$`);
  // The worker's role owns the table and runs the conversion's DDL; it writes the run registry.
  await db.pool.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${worker}; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${worker};
    CREATE SCHEMA tenant AUTHORIZATION ${worker}; GRANT USAGE ON SCHEMA tenant TO ${app}`);
  await db.pool.query(`SET ROLE ${worker};
    CREATE TABLE tenant.notes (id bigserial PRIMARY KEY, tenant int NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), body text NOT NULL DEFAULT '');
    INSERT INTO tenant.notes (tenant, created_at, body) SELECT g % 10, now() - g * interval '5 hours', 'note ' || g FROM generate_series(1, 1000) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON tenant.notes TO ${app}; GRANT USAGE ON SEQUENCE tenant.notes_id_seq TO ${app};
    ALTER TABLE tenant.notes ENABLE ROW LEVEL SECURITY; ALTER TABLE tenant.notes FORCE ROW LEVEL SECURITY;
    CREATE POLICY notes_app ON tenant.notes TO ${app} USING (true) WITH CHECK (true);
    CREATE POLICY notes_owner ON tenant.notes TO ${worker} USING (tenant < 5) WITH CHECK (true);
    RESET ROLE`);
  env = await startWorker(temporal, workerUrl(), taskQueue);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

const asWorker = async <T>(fn: (c: Client) => Promise<T>): Promise<T> => {
  const c = new Client({ connectionString: workerUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
};

describe('the worker sees every row or refuses (row level security)', () => {
  it('FORCE ROW LEVEL SECURITY with the worker as owner: the plan refuses naming the role and the fix; the run changes nothing', async () => {
    const plan = await asWorker((c) => planConversion(c, parseConversionChoice(choice)));
    expect(plan.ok).toBe(false);
    const b = plan.blockers.find((x) => x.code === 'row-security-hides-rows');
    expect(b?.object).toBe(worker);
    expect(b?.message).toMatch(new RegExp(`role ${worker} owns "tenant"."notes", but FORCE ROW LEVEL SECURITY`));
    expect(b?.message).toContain(`ALTER ROLE "${worker}" BYPASSRLS`);
    expect(b?.message).toContain('ALTER TABLE "tenant"."notes" NO FORCE ROW LEVEL SECURITY');

    const err = await temporal.client.workflow.execute('heapToPartitionedConversion', {
      taskQueue, workflowId: `rls-refused-${taskQueue}`, args: [{ ...choice, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false } }],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(rootMessage(err)).toMatch(/row-security-hides-rows/);
    expect((await db.pool.query(`SELECT relkind::text AS k, (SELECT count(*)::int FROM tenant.notes) AS n, to_regclass('tenant.notes_partitioned') AS shadow FROM pg_class WHERE oid = 'tenant.notes'::regclass`)).rows[0]).toEqual({ k: 'r', n: 1000, shadow: null });
  });

  it('a session that reads rows errors instead of filtering when policies would hide some (row_security off)', async () => {
    await expect(asWorker((c) => wholeParity(c, 'tenant.notes', 'tenant.notes', 'created_at', 'timestamptz'))).rejects.toMatchObject({ code: '42501' });
  });

  it('with BYPASSRLS the run converts every tenant\'s rows under the load as the app role (oracle at zero)', async () => {
    await db.pool.query(`ALTER ROLE ${worker} BYPASSRLS`);
    const plan = await asWorker((c) => planConversion(c, parseConversionChoice(choice)));
    expect(plan.blockers.map((b) => b.code)).not.toContain('row-security-hides-rows');
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(choice.table)))));
    const baseline = await readImages(db.pool, '"tenant"."notes"', key);
    const load = await startSqlLoad({ url: appUrl(), table: choice.table, ratePerSec: 100, seed: 5, baseline, spreadDays: 60 });
    let summary: GenericConversionSummary;
    try {
      const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId: `rls-bypass-${taskQueue}`, args: [{ ...choice, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false } }],
      });
      await waitFor('the drop-old-table gate', async () => ((await handle.query(statusQuery)).waitingOn ?? '').includes('drop-old-table'), 120_000);
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'ops', reason: 'old table verified', gate: 'drop-old-table' }] });
      summary = (await handle.result()) as GenericConversionSummary;
    } finally {
      await load.stop();
    }
    expect(summary.outcome).toBe('completed');
    expect(summary.copy!.rows).toBeGreaterThanOrEqual(1000);
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(30);
    expect((await db.pool.query(`SELECT relkind::text AS k FROM pg_class WHERE oid = 'tenant.notes'::regclass`)).rows[0].k).toBe('p');
    const v = await judgeRows(db.pool, '"tenant"."notes"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM tenant.notes WHERE tenant >= 5`)).rows[0].n).toBeGreaterThan(400); // the rows the policy hid from the owner
  });
});
