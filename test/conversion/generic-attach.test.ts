import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortUpdate, approveUpdate, statusQuery } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { parseConversionChoice } from '../../src/conversion/choice/choice';
import { planConversion } from '../../activities/conversion/plan/plan';
import { renderPlan } from '../../activities/conversion/plan/render';
import { parseGenericConversionInput } from '../../workflows/conversion/generic-input';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { runCli } from '../cli/run-cli';
import { buildAuditReport, renderMarkdown } from '../../src/audit/report';
import { createAttachActivities, type AttachInput } from '../../activities/conversion/generic/attach';
import { APP_ROLE_SQL } from './generic/shapes';
import { startWorker, waitFor } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

// placed_at nullable on purpose (the swap sets NOT NULL proven by the check; the swap back drops it again); a plain index, a view.
const TABLE_SQL = (t: string) => `CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
  CREATE TABLE shop.${t} (id bigserial PRIMARY KEY, placed_at timestamptz DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL);
  CREATE INDEX ${t}_customer_idx ON shop.${t} (customer);
  INSERT INTO shop.${t} (placed_at, customer, total) SELECT now() - g * interval '7 hours', g % 13, g / 7.0 FROM generate_series(1, 1000) g;
  CREATE VIEW shop.${t}_view AS SELECT id, total FROM shop.${t};
  GRANT SELECT, INSERT, UPDATE, DELETE ON shop.${t} TO ${app}; GRANT USAGE ON SEQUENCE shop.${t}_id_seq TO ${app};`;

const state = async (t: string) => (await db.pool.query(
  `SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k, to_regclass($1 || '_partitioned')::text AS parked, to_regclass($1 || '_history')::text AS history,
          (SELECT count(*)::int FROM pg_constraint WHERE conname LIKE 'lichen_attach_bound%') AS checks,
          (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p') AS pk,
          (SELECT attnotnull FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'placed_at') AS placed_not_null,
          (SELECT count(*)::int FROM pg_class WHERE relname = $2 || '_pkey_history') AS key_index,
          (SELECT count(DISTINCT r.oid)::int FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid WHERE d.refobjid = to_regclass($1) AND r.ev_class = to_regclass($1 || '_view')) AS view_on_table`,
  [`shop.${t}`, t])).rows[0];

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-attach');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(APP_ROLE_SQL(app));
  for (const t of ['p', 'a', 'b', 'c', 'i', 'd']) await db.pool.query(TABLE_SQL(t));
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

const input = (t: string, extra: Record<string, unknown> = {}) => ({ table: `shop.${t}`, mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, ...extra });

/** Runs `fn` under the generic load as the app role; proves no write lost (judgeRows at zero). */
async function underLoad<T>(t: string, fn: () => Promise<T>): Promise<T> {
  const table = `shop.${t}`;
  const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(table)))));
  const baseline = await readImages(db.pool, `"shop"."${t}"`, key);
  const load = await startSqlLoad({ url: appUrl(), table, ratePerSec: 100, seed: 11, baseline, spreadDays: 60 });
  let out: T;
  try {
    out = await fn();
    await new Promise((r) => setTimeout(r, 300)); // writes go on after the run
  } finally {
    await load.stop();
  }
  expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(30);
  const v = await judgeRows(db.pool, `"shop"."${t}"`, key, baseline, load.log);
  expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  return out!;
}

describe('mode attach: the heap becomes the history partition, no row copied', () => {
  it('input: mode is "copy" by default; anything else than copy or attach is refused naming mode and the allowed values', () => {
    expect(parseGenericConversionInput({ table: 't', partitionBy: { column: 'c', interval: 'month' } }).choice.mode).toBe('copy');
    expect(parseGenericConversionInput({ table: 't', mode: 'attach', partitionBy: { column: 'c', interval: 'month' } }).choice.mode).toBe('attach');
    expect(() => parseGenericConversionInput({ table: 't', mode: 'instant', partitionBy: { column: 'c', interval: 'month' } })).toThrow(/mode.*"copy", "attach"/);
    expect(() => parseConversionChoice({ table: 't', mode: 3, partitionBy: { column: 'c', interval: 'month' } })).toThrow(/mode/);
  });

  it('the plan shows both modes with their cost and a recommendation; cutover plan --mode attach plans the attach statements', async () => {
    const choice = (mode: string) => parseConversionChoice({ table: 'shop.p', mode, partitionBy: { column: 'placed_at', interval: 'month' } });
    const copy = await db.withClient((c) => planConversion(c, choice('copy')));
    expect(copy.modes).toMatchObject({ chosen: 'copy', copy: { ok: true, rowsCopied: 1000 }, attach: { ok: true, rowsCopied: 0 }, recommended: 'copy' });
    expect(copy.modes.copy.extraDiskBytes).toBeGreaterThan(copy.modes.attach.extraDiskBytes);
    const att = await db.withClient((c) => planConversion(c, choice('attach')));
    expect(att.ok).toBe(true);
    expect(att.phases.map((p) => p.phase)).toEqual(['attach prepare', 'attach swap', 'attach rollback before swap', 'attach rollback after swap', 'attach restore key']);
    expect(att.attach!.bound).toBeGreaterThan(Date.now() + 86_400_000);
    expect(att.phases[1].statements.join('\n')).toMatch(/ATTACH PARTITION "shop"."p_history" FOR VALUES FROM \(MINVALUE\)/);
    expect(att.phases[1].statements.join('\n')).not.toMatch(/CREATE (TABLE|INDEX|POLICY)/);
    expect(att.phases[0].statements.join('\n')).toMatch(/CREATE TABLE "shop"."p_partitioned"/);
    const text = renderPlan(att);
    expect(text).toMatch(/MODES \(chosen: attach; recommended: copy/);
    expect(text).toMatch(/▶ attach: rows copied 0/);
    expect(text).toMatch(/ {3}copy: rows copied 1000/);
    const cli = await runCli(['plan', 'conversion', '--table', 'shop.p', '--partition-by', 'placed_at', '--interval', 'month', '--mode', 'attach', '--profile', 'test'], { LICHEN_DB_PROFILE_TEST: db.url });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/-- phase attach swap/);
    const bad = await runCli(['plan', 'conversion', '--table', 'shop.p', '--partition-by', 'placed_at', '--interval', 'month', '--mode', 'fast', '--profile', 'test'], { LICHEN_DB_PROFILE_TEST: db.url });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--mode: must be one of "copy", "attach"/);
    // An identity column blocks attach only, named in the plan.
    await db.pool.query(`CREATE TABLE shop.ident (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, placed_at timestamptz NOT NULL)`);
    const ident = await db.withClient((c) => planConversion(c, parseConversionChoice({ table: 'shop.ident', mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' } })));
    expect(ident.ok).toBe(false);
    expect(ident.blockers.map((b) => b.code)).toEqual(['attach-identity-column']);
    expect(ident.modes).toMatchObject({ copy: { ok: true }, attach: { ok: false }, recommended: 'copy' });
  });

  it('under load: prepares without blocking writes, swaps in one short transaction (lock time recorded), every row stays, nothing copied', async () => {
    const { s, h } = await underLoad('a', async () => {
      const h = await temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId: `attach-a-${taskQueue}`, args: [input('a')] });
      return { s: (await h.result()) as GenericConversionSummary, h };
    });
    // The audit report: the mode, and the swap's lock time.
    const report = buildAuditReport(await h.fetchHistory(), { workflowId: h.workflowId });
    expect(report.swaps).toEqual([expect.objectContaining({ activity: 'attachSwap', direction: 'forward', lockMs: s.swap!.lockMs })]);
    expect(renderMarkdown(report)).toContain('**Conversion mode**: attach');
    expect(s.outcome, s.cause).toBe('completed');
    expect(s.mode).toBe('attach');
    expect(s.attach).toMatchObject({ history: '"shop"."a_history"', prepared: { indexBuilt: true, checkAdded: true, validated: true } });
    expect(s.copy).toBeUndefined();
    expect(typeof s.swap?.lockMs).toBe('number');
    expect(s.droppedOldTable).toBe(false);
    const st = await state('a');
    expect(st).toMatchObject({ k: 'p', history: 'shop.a_history', checks: 0, pk: 'PRIMARY KEY (id, placed_at)', view_on_table: 1 });
    const parts = (await db.pool.query(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'shop.a'::regclass`)).rows[0].n;
    expect(parts).toBeGreaterThan(1);
    expect(s.keepsWorking?.partitionsAhead.until).toBeTruthy();
  });

  it('an abort before the swap removes the check and the index (the tool\'s own); the table is untouched and no write is lost', async () => {
    const s = await underLoad('b', async () => {
      const h = await temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId: `attach-b-${taskQueue}`, args: [input('b', { approvals: { beforeSwap: true } })] });
      await waitFor('the before-swap gate', async () => (await h.query(statusQuery)).state === 'waiting-for-approval', 60_000);
      // The prepare built the parent and its partitions under the parked name: the swap's lock holds no CREATE.
      expect(await state('b')).toMatchObject({ k: 'r', checks: 1, key_index: 1, parked: 'shop.b_partitioned' });
      await h.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'not today' }] });
      return (await h.result()) as GenericConversionSummary;
    });
    expect(s.outcome).toBe('aborted');
    expect(s.rollbacks).toEqual([expect.objectContaining({ branch: expect.stringMatching(/^before-swap: the bound check/) })]);
    expect(await state('b')).toMatchObject({ k: 'r', parked: null, history: null, checks: 0, key_index: 0, pk: 'PRIMARY KEY (id)', placed_not_null: false, view_on_table: 1 });
  });

  it('an abort during retention after a write landed in a new partition: detached, the row moved back, the heap serves again with its own key, nothing lost', async () => {
    const extraId = 9_000_000;
    const s = await underLoad('c', async () => {
      const h = await temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId: `attach-c-${taskQueue}`, args: [input('c', { retentionMinutes: 30, retentionCheckMinutes: 0.05 })] });
      await waitFor('the retention window', async () => (await h.query(statusQuery)).phases.some((p) => p.phase === 'retention'), 60_000);
      const bound = (await db.pool.query(`SELECT pg_get_expr(relpartbound, oid) AS b FROM pg_class WHERE oid = 'shop.c_history'::regclass`)).rows[0].b as string;
      expect(bound).toMatch(/FOR VALUES FROM \(MINVALUE\) TO/);
      // As the app role: a row beyond the bound lands in a new partition.
      const { Pool } = await import('pg');
      const appPool = new Pool({ connectionString: appUrl() });
      try {
        await appPool.query(`INSERT INTO shop.c (id, placed_at, customer, total) VALUES ($1, now() + interval '100 days', 1, 1)`, [extraId]);
      } finally {
        await appPool.end();
      }
      expect((await db.pool.query(`SELECT tableoid::regclass::text AS p FROM shop.c WHERE id = $1`, [extraId])).rows[0].p).not.toBe('shop.c_history');
      await h.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'change window closed' }] });
      const r = (await h.result()) as GenericConversionSummary;
      // The row written into the new partition is in the heap now; removed again so the load's oracle judges only its own writes.
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM shop.c WHERE id = $1`, [extraId])).rows[0].n).toBe(1);
      await db.pool.query(`DELETE FROM shop.c WHERE id = $1`, [extraId]);
      return r;
    });
    expect(s.outcome).toBe('aborted');
    expect(s.rollbacks).toEqual([expect.objectContaining({ branch: expect.stringMatching(/^after-swap: history partition detached/) })]);
    expect(s.attach?.movedBack).toBeGreaterThanOrEqual(1);
    expect(s.attach?.keyRestored).toBe(true);
    expect(s.keptTables ?? []).toEqual([]);
    expect(await state('c')).toMatchObject({ k: 'r', parked: null, history: null, checks: 0, pk: 'PRIMARY KEY (id)', placed_not_null: false, view_on_table: 1 });
  });
  it('an invalid index left by a failed CONCURRENTLY build is dropped and built again; prepare and rollback before the swap are idempotent', async () => {
    // A failed build of the same name (duplicates in customer): Postgres leaves it INVALID.
    await expect(db.pool.query(`CREATE UNIQUE INDEX CONCURRENTLY i_pkey_history ON shop.i (customer)`)).rejects.toThrow(/could not create unique index/);
    const valid = async () => (await db.pool.query(`SELECT indisvalid AS v, pg_get_indexdef(indexrelid) AS d FROM pg_index WHERE indexrelid = to_regclass('shop.i_pkey_history')`)).rows[0];
    expect((await valid()).v).toBe(false);
    const acts = createAttachActivities({ profiles: env.profiles });
    const choice = parseConversionChoice({ table: 'shop.i', mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' } });
    const bound = (await db.withClient((c) => planConversion(c, choice))).attach!.bound;
    const io: AttachInput = { profile: 'default', choice, planAt: Date.now(), lockTimeoutMs: 500, attachBound: bound };
    expect(await acts.attachPrepare(io)).toMatchObject({ indexBuilt: true, checkAdded: true, validated: true });
    expect(await valid()).toEqual({ v: true, d: 'CREATE UNIQUE INDEX i_pkey_history ON shop.i USING btree (id, placed_at)' });
    expect(await acts.attachPrepare(io)).toMatchObject({ indexBuilt: false, checkAdded: false, validated: false });
    // The check refuses a write at the bound until the swap (the plan says so).
    await expect(db.pool.query(`INSERT INTO shop.i (placed_at, customer, total) VALUES (to_timestamp($1 / 1000.0), 1, 1)`, [bound])).rejects.toThrow(/lichen_attach_bound/);
    expect(await acts.attachRollbackBeforeSwap(io)).toEqual({ droppedCheck: true, droppedIndex: true, droppedParent: true });
    expect(await acts.attachRollbackBeforeSwap(io)).toEqual({ droppedCheck: false, droppedIndex: false, droppedParent: false });
    expect(await state('i')).toMatchObject({ k: 'r', checks: 0, key_index: 0, pk: 'PRIMARY KEY (id)' });
  });

  it('the activities after preflight plan from its carried facts, not a new scan: a -infinity row written at the gate (below the bound, the check lets it in) does not turn the swap into PlanChanged', async () => {
    const s = await underLoad('d', async () => {
      const h = await temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId: `attach-d-${taskQueue}`, args: [input('d', { approvals: { beforeSwap: true } })] });
      await waitFor('the before-swap gate', async () => (await h.query(statusQuery)).state === 'waiting-for-approval', 60_000);
      // A new scan would count it as a value outside every interval (the plan's attach-values-outside) and refuse the rest of the run.
      await db.pool.query(`INSERT INTO shop.d (id, placed_at, customer, total) VALUES (9100000, '-infinity', 1, 1)`);
      await h.executeUpdate(approveUpdate, { args: [{ operator: 'ops', reason: 'attach now', gate: 'before-swap' }] });
      const r = (await h.result()) as GenericConversionSummary;
      expect((await db.pool.query(`SELECT tableoid::regclass::text AS p FROM shop.d WHERE id = 9100000`)).rows[0]?.p).toBe(r.outcome === 'completed' ? 'shop.d_history' : 'shop.d');
      await db.pool.query(`DELETE FROM shop.d WHERE id = 9100000`);
      return r;
    });
    expect(s.outcome, s.cause).toBe('completed');
    expect(await state('d')).toMatchObject({ k: 'p', history: 'shop.d_history', checks: 0, pk: 'PRIMARY KEY (id, placed_at)' });
  });
});
