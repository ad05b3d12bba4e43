import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { abortUpdate, approveUpdate, statusQuery } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { buildAuditReport, renderMarkdown } from '../../src/audit/report';
import { APP_ROLE_SQL } from './generic/shapes';
import { rootMessage, startWorker, waitFor } from './harness';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { createConversionActivities } from '../../activities/conversion';

/**
 * Nothing destructive without a check (issue 22, finding 2): a rollback drops the partitioned
 * table (after the swap) or the shadow (before it) only when it holds no row the table in use
 * lacks, compared inside the rollback's transaction; otherwise it is kept aside, named in the
 * result and the audit report with the statement that drops it. Under the generic load as the
 * app role, judged by the row-image oracle.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;
/** A second worker whose retention check fails once `checksFail` is set (fault injection; Postgres is real). */
let faulty: { worker: Worker; running: Promise<void> };
let faultyQueue: string;
let checksFail = false;

const TABLE_SQL = (t: string) => `CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
  CREATE TABLE shop.${t} (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL);
  INSERT INTO shop.${t} (placed_at, customer, total) SELECT now() - g * interval '7 hours', g % 13, g / 7.0 FROM generate_series(1, 1000) g;
  GRANT SELECT, INSERT, UPDATE, DELETE ON shop.${t} TO ${app}; GRANT USAGE ON SEQUENCE shop.${t}_id_seq TO ${app};`;

/** A row that reaches only the partitioned table: a partition attached by hand (ATTACH fires no trigger). */
const ATTACH_BY_HAND = (t: string) => `CREATE TABLE shop.${t}_hand (LIKE shop.${t});
  INSERT INTO shop.${t}_hand (id, placed_at, customer, total) VALUES (900000001, '2090-01-15', 1, 42);
  ALTER TABLE shop.${t} ATTACH PARTITION shop.${t}_hand FOR VALUES FROM ('2090-01-01') TO ('2090-02-01')`;

const kinds = async (t: string) => (await db.pool.query<{ k: string | null; shadow: string | null; old: string | null; kept: string | null; sync: number }>(
  `SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k,
          (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1 || '_partitioned')) AS shadow,
          (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1 || '_old')) AS old,
          (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1 || '_rolled_back')) AS kept,
          (SELECT count(*)::int FROM pg_trigger WHERE tgname LIKE 'lichen%' AND tgrelid = to_regclass($1)) AS sync`, [`shop.${t}`])).rows[0];

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-drops');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(APP_ROLE_SQL(app));
  for (const t of ['r', 'p', 'b', 'n', 'f']) await db.pool.query(TABLE_SQL(t));
  faultyQueue = temporal.taskQueue('generic-drops-faulty');
  const acts = createConversionActivities({ profiles: env.profiles });
  const worker = await Worker.create({
    connection: temporal.nativeConnection, namespace: temporal.namespace, taskQueue: faultyQueue, workflowBundle: temporal.workflowBundle,
    activities: {
      ...acts,
      genericPostSwapParity: async (i: Parameters<typeof acts.genericPostSwapParity>[0]) => {
        if (checksFail) throw ApplicationFailure.nonRetryable('injected: the retention check failed (retries exhausted)', 'InjectedCheckFailure');
        return acts.genericPostSwapParity(i);
      },
    },
  });
  faulty = { worker, running: worker.run() };
});
afterAll(async () => {
  faulty?.worker.shutdown();
  await faulty?.running;
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

/**
 * Runs a conversion of shop.<t> under the load; `at` waits for the moment and does what the case
 * needs (it returns once the workflow has its result). The oracle judges shop.<t> at the end.
 */
async function underLoad(t: string, input: Record<string, unknown>, at: (h: WorkflowHandle) => Promise<void>, queue = () => taskQueue): Promise<{ summary: GenericConversionSummary; handle: WorkflowHandle }> {
  const table = `shop.${t}`;
  const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(table)))));
  const baseline = await readImages(db.pool, `"shop"."${t}"`, key);
  const load = await startSqlLoad({ url: appUrl(), table, ratePerSec: 100, seed: 11, baseline, spreadDays: 60 });
  let summary: GenericConversionSummary;
  let handle: WorkflowHandle;
  try {
    handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue: queue(), workflowId: `drops-${t}-${queue()}`,
      args: [{ table, partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, ...input }],
    });
    await at(handle);
    summary = (await handle.result()) as GenericConversionSummary;
    await new Promise((r) => setTimeout(r, 300)); // writes go on after the rollback
  } finally {
    await load.stop();
  }
  expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(30);
  const v = await judgeRows(db.pool, `"shop"."${t}"`, key, baseline, load.log);
  expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  return { summary, handle: handle! };
}

const waitingAt = (h: WorkflowHandle, gate: string) => waitFor(`the ${gate} gate`, async () => {
  const st = await h.query(statusQuery);
  return st.state === 'waiting-for-approval' && (st.waitingOn ?? '').includes(gate);
}, 90_000);

describe('a rollback drops nothing that holds rows the table in use lacks', () => {
  it('an abort during retention after a write only the partitioned table holds: swapped back, nothing lost, the partitioned table kept aside and named (result, audit)', async () => {
    const { summary, handle } = await underLoad('r', { retentionMinutes: 60, retentionCheckMinutes: 1, approvals: { beforeSwap: false } }, async (h) => {
      await waitFor('the retention window', async () => (await h.query(statusQuery)).phases.some((p) => p.phase === 'retention' && !p.endedAt), 90_000);
      await db.pool.query(ATTACH_BY_HAND('r'));
      await h.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'drift gate said abort' }] });
    });
    expect(summary.outcome).toBe('aborted');
    expect(summary.rollbacks).toEqual([expect.objectContaining({ branch: expect.stringMatching(/^after-swap.*kept aside, not dropped: "shop"."r_rolled_back"/) })]);
    expect(summary.keptTables).toEqual([{ table: '"shop"."r_rolled_back"', rowsOnlyThere: 1, comparedWith: '"shop"."r"', dropStatement: 'DROP TABLE "shop"."r_rolled_back"' }]);
    expect(await kinds('r')).toEqual({ k: 'r', shadow: null, old: null, kept: 'p', sync: 0 });
    // The row only the partitioned table held is still there, in the kept table.
    expect((await db.pool.query(`SELECT total::text FROM shop.r_rolled_back WHERE id = 900000001`)).rows).toEqual([{ total: '42.00' }]);
    const report = buildAuditReport(await handle.fetchHistory(), { workflowId: handle.workflowId });
    expect(report.keptTables).toEqual([expect.objectContaining({ table: '"shop"."r_rolled_back"', rowsOnlyThere: 1, dropStatement: 'DROP TABLE "shop"."r_rolled_back"' })]);
    expect(renderMarkdown(report)).toContain('DROP TABLE "shop"."r_rolled_back"');
    // A new conversion of the table refuses at preflight, naming the kept table (its partitions hold the names it would create).
    const again = await temporal.client.workflow.execute('heapToPartitionedConversion', {
      taskQueue, workflowId: `drops-r-again-${taskQueue}`, args: [{ table: 'shop.r', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0 }],
    }).catch((e) => e);
    expect(again).toBeInstanceOf(WorkflowFailedError);
    expect(rootMessage(again)).toMatch(/"shop"."r_rolled_back" exists: kept aside by an earlier rollback and holding the names this conversion creates \(partition or index name\(s\) r_p/);
    expect(await kinds('r')).toEqual({ k: 'r', shadow: null, old: null, kept: 'p', sync: 0 });
  });

  it('the automatic swap back after a failed post-swap check keeps the partitioned table that holds a row the heap lacks', async () => {
    const { summary } = await underLoad('p', { retentionMinutes: 0, approvals: { beforeSwap: true } }, async (h) => {
      await waitingAt(h, 'before-swap');
      // A row written into the shadow behind the sync's back: after the swap only the new table has it.
      await db.pool.query(`INSERT INTO shop.p_partitioned (id, placed_at, customer, total) VALUES (900000002, now(), 2, 7)`);
      await h.executeUpdate(approveUpdate, { args: [{ operator: 'ops', reason: 'parity seen', gate: 'before-swap' }] });
    });
    expect(summary.outcome).toBe('rolled-back');
    expect(summary.cause).toMatch(/post-swap check failed/);
    // Checked per key range (one range here: 1000 rows and the load's, fewer than a range holds), the range named with both counts.
    expect(summary.postSwap).toMatchObject({ match: false, differing: [expect.stringMatching(/^\(\] \.\. \(end\]: "shop"\."p" (\d+) rows, "shop"\."p_old" (\d+)$/)] });
    const [, inTable, inOld] = /"shop"\."p" (\d+) rows, "shop"\."p_old" (\d+)$/.exec(summary.postSwap!.differing![0])!;
    expect(Number(inTable) - Number(inOld)).toBe(1);
    expect(summary.cause).toContain(summary.postSwap!.differing![0]);
    expect(summary.keptTables).toEqual([expect.objectContaining({ table: '"shop"."p_rolled_back"', rowsOnlyThere: 1 })]);
    expect(await kinds('p')).toEqual({ k: 'r', shadow: null, old: null, kept: 'p', sync: 0 });
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM shop.p_rolled_back WHERE id = 900000002`)).rows[0].n).toBe(1);
  });

  it('the automatic swap back after the retention check fails keeps the partitioned table that holds a row the old table lacks', async () => {
    const { summary } = await underLoad('f', { retentionMinutes: 60, retentionCheckMinutes: 1, approvals: { beforeSwap: false } }, async (h) => {
      await waitFor('the retention window', async () => (await h.query(statusQuery)).phases.some((p) => p.phase === 'retention' && !p.endedAt), 90_000);
      await db.pool.query(ATTACH_BY_HAND('f'));
      checksFail = true;
      // The next retention check (one a minute, by the window's timer) fails: the run rolls back by itself.
    }, () => faultyQueue);
    checksFail = false;
    expect(summary.outcome).toBe('rolled-back');
    expect(summary.cause).toMatch(/injected: the retention check failed/);
    expect(summary.keptTables).toEqual([expect.objectContaining({ table: '"shop"."f_rolled_back"', rowsOnlyThere: 1 })]);
    expect(await kinds('f')).toEqual({ k: 'r', shadow: null, old: null, kept: 'p', sync: 0 });
  });

  it('a rollback before the swap keeps a shadow that holds a row the table lacks', async () => {
    const { summary } = await underLoad('b', { retentionMinutes: 0, approvals: { beforeSwap: true } }, async (h) => {
      await waitingAt(h, 'before-swap');
      await db.pool.query(`INSERT INTO shop.b_partitioned (id, placed_at, customer, total) VALUES (900000003, now(), 3, 9)`);
      await h.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'not today' }] });
    });
    expect(summary.outcome).toBe('aborted');
    expect(summary.keptTables).toEqual([expect.objectContaining({ table: '"shop"."b_rolled_back"', rowsOnlyThere: 1, dropStatement: 'DROP TABLE "shop"."b_rolled_back"' })]);
    expect(await kinds('b')).toEqual({ k: 'r', shadow: null, old: null, kept: 'p', sync: 0 });
  });

  it('a rollback before the swap drops the shadow when it holds nothing the table lacks (the check runs under the load)', async () => {
    const { summary } = await underLoad('n', { retentionMinutes: 0, approvals: { beforeSwap: true } }, async (h) => {
      await waitingAt(h, 'before-swap');
      await h.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'not today' }] });
    });
    expect(summary.outcome).toBe('aborted');
    expect(summary.keptTables).toBeUndefined();
    expect(await kinds('n')).toEqual({ k: 'r', shadow: null, old: null, kept: null, sync: 0 });
  });
});
