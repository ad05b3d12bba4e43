import { dropUnlessOnlyThere } from '../../../activities/conversion/keep-or-drop';
import { describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { useTestDatabase } from '../../helpers/db';
import { runCli } from '../../cli/run-cli';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion, type ConversionPlan } from '../../../activities/conversion/plan/plan';
import { copyAll, dropOld, phase, runPhase, runPhaseInTransaction, wholeParity } from '../../../activities/conversion/generic/execute';
import { APP_ROLE_SQL, INVOICES_SQL } from './shapes';

const db = useTestDatabase();
const app = `app_${process.pid}`;
const env = () => ({ LICHEN_DB_PROFILE_TEST: db.url });
const plan = (table: string, column: string, interval: string, options?: object): Promise<ConversionPlan> =>
  db.withClient((c) => planConversion(c, parseConversionChoice({ table, partitionBy: { column, interval }, ...(options ? { options } : {}) })));
const codes = (p: ConversionPlan) => p.blockers.map((b) => `${b.code}:${b.object}`);

async function seedInvoices(): Promise<void> {
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(INVOICES_SQL(app));
  await db.pool.query(`INSERT INTO billing.invoices (customer_id, number, state, amount, lines, tags, pdf, issued_at)
    SELECT 1 + g % 20, 'N' || g, (ARRAY['draft','open','paid']::billing.invoice_state[])[1 + g % 3], g * 1.5,
           jsonb_build_object('n', g), ARRAY['t' || (g % 4)], decode(md5(g::text), 'hex'), now() - g * interval '17 hours'
      FROM generate_series(1, 300) g`);
  await db.pool.query(`CREATE UNIQUE INDEX invoices_number_key ON billing.invoices (number); REFRESH MATERIALIZED VIEW billing.invoice_totals; ANALYZE billing.invoices`);
}

describe('cutover plan conversion: what the run will do, before anything changes', () => {
  it('reports a unique key without the partition column as a blocker with its options, and the chosen option as a decision', async () => {
    await seedInvoices();
    const blocked = await runCli(['plan', 'conversion', '--table', 'billing.invoices', '--partition-by', 'issued_at', '--interval', 'month', '--profile', 'test', '--json'], env());
    expect(blocked.code, blocked.stderr).toBe(1);
    const b = blocked.json<ConversionPlan>();
    expect(b.ok).toBe(false);
    expect(b.blockers).toEqual([expect.objectContaining({ code: 'unique-without-partition-column', object: 'invoices_number_key', options: [expect.objectContaining({ choice: 'extend' }), expect.objectContaining({ choice: 'drop' })] })]);
    expect(b.size.rows).toBe(300);
    expect(b.size.copyNeedsBytes).toBeGreaterThan(0);
    // A new run's engine: the change log (its replay a phase of its own).
    expect(b.phases.map((p) => p.phase)).toEqual(['shadow', 'sync', 'partitions', 'copy', 'replay', 'parity', 'swap', 'refresh', 'drop', 'rollback before swap', 'rollback after swap']);

    const ok = await runCli(['plan', 'conversion', '--table', 'billing.invoices', '--partition-by', 'issued_at', '--interval', 'month', '--profile', 'test', '--unique-key', 'invoices_number_key=extend'], env());
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('no blockers');
    expect(ok.stdout).toContain('chosen extend');
    expect(ok.stdout).toContain('CREATE UNIQUE INDEX "invoices_number_key_pnew" ON "billing"."invoices_partitioned" USING btree (number, "issued_at")');
    expect(ok.stdout).toMatch(/invoices_p\d{4}_\d{2}/);

    const missing = await runCli(['plan', 'conversion', '--table', 'billing.nope', '--partition-by', 'x', '--interval', 'month', '--profile', 'test', '--json'], env());
    expect(missing.code).toBe(3);
    expect(missing.json<{ error: { message: string } }>().error.message).toContain('"billing"."nope" does not exist');
    const bad = await runCli(['plan', 'conversion', '--table', 'x;drop', '--partition-by', 'x', '--interval', 'month', '--profile', 'test'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--table');
  });

  it('names every other blocker, each with its options, before anything changes', async () => {
    await db.pool.query(`
      CREATE TABLE ev (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL, body text, label text, d date);
      INSERT INTO ev (at, body, d) SELECT now() - g * interval '1 day', 'b' || g, current_date FROM generate_series(1, 50) g;
      CREATE TABLE ev_notes (ev_id bigint REFERENCES ev (id), note text);
      CREATE TABLE nokey (at timestamptz NOT NULL, v text);
      CREATE TABLE nullish (id int PRIMARY KEY, at timestamptz); INSERT INTO nullish VALUES (1, now()), (2, NULL);
      CREATE TABLE infin (id int PRIMARY KEY, at timestamptz NOT NULL); INSERT INTO infin VALUES (1, now()), (2, 'infinity');
      CREATE TABLE ruled (id int PRIMARY KEY, at date NOT NULL); CREATE RULE ruled_nodelete AS ON DELETE TO ruled DO INSTEAD NOTHING;
      CREATE TABLE wide (id int PRIMARY KEY, at timestamp NOT NULL); INSERT INTO wide VALUES (1, '2015-01-01'), (2, '2026-01-01');
      CREATE TABLE mvt (id int PRIMARY KEY, at timestamptz NOT NULL);
      CREATE MATERIALIZED VIEW mvt_mv AS SELECT count(*) AS n FROM mvt; CREATE VIEW mvt_mv_v AS SELECT n FROM mvt_mv;
      CREATE TABLE already (id int, at date NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE deferred (id int PRIMARY KEY DEFERRABLE, at date NOT NULL, CONSTRAINT deferred_pos CHECK (id > 0) NO INHERIT);`);
    const fk = await plan('ev', 'at', 'day');
    expect(codes(fk)).toEqual(['incoming-foreign-key:public.ev_notes.ev_notes_ev_id_fkey']);
    expect(fk.blockers[0].options.map((o) => o.choice)).toEqual(['drop']);
    const fkDropped = await plan('ev', 'at', 'day', { incomingForeignKeys: 'drop' });
    expect(fkDropped.ok).toBe(true);
    expect(phase(fkDropped, 'swap')).toContain('ALTER TABLE public.ev_notes DROP CONSTRAINT "ev_notes_ev_id_fkey"');
    expect(phase(fkDropped, 'rollback after swap')).toContain('ALTER TABLE public.ev_notes ADD CONSTRAINT "ev_notes_ev_id_fkey" FOREIGN KEY (ev_id) REFERENCES public.ev(id) NOT VALID');
    expect(codes(await plan('ev', 'body', 'day', { incomingForeignKeys: 'drop' }))).toEqual(['partition-column-type:body']);
    expect(codes(await plan('ev', 'nope', 'day', { incomingForeignKeys: 'drop' }))).toEqual(['partition-column-missing:nope']);
    expect(codes(await plan('nokey', 'at', 'month'))).toEqual(['no-key:"public"."nokey"']);
    expect(codes(await plan('nullish', 'at', 'month'))).toEqual(['null-partition-values:at']);
    const inf = await plan('infin', 'at', 'month');
    expect(codes(inf)).toEqual(['values-outside-intervals:at']);
    const infDefault = await plan('infin', 'at', 'month', { defaultPartition: true });
    expect(infDefault.ok).toBe(true);
    expect(infDefault.partitions.default).toBe('infin_default');
    expect(phase(infDefault, 'shadow')).toContain('CREATE TABLE "public"."infin_default" PARTITION OF "public"."infin_partitioned" DEFAULT');
    expect(codes(await plan('ruled', 'at', 'year'))).toEqual(['dependent-not-recreatable:rule ruled_nodelete on table public.ruled']);
    const wide = await plan('wide', 'at', 'day');
    expect(codes(wide)).toEqual(['too-many-partitions:at']);
    expect((await plan('wide', 'at', 'year')).partitions.names.slice(0, 2)).toEqual(['wide_p2015', 'wide_p2016']);
    expect(codes(await plan('mvt', 'at', 'month'))).toEqual(['view-not-recreatable:public.mvt_mv']);
    expect(codes(await plan('already', 'at', 'month'))).toEqual(['already-partitioned:"public"."already"']);
    expect(codes(await plan('deferred', 'at', 'month'))).toEqual(['deferrable-key:deferred_pkey', 'no-inherit-check:deferred_pos']);
    await expect(plan('ev', 'at', 'fortnight')).rejects.toThrow('partitionBy.interval: must be one of "day", "week", "month", "quarter", "year"');
    await expect(plan('ev', 'at', 'day', { uniqueKeys: { x: 'merge' } })).rejects.toThrow('options.uniqueKeys.x: must be one of "extend", "drop"');
  });

  it('its statements, run in order under application writes, convert the table and keep views, trigger and sequence right', async () => {
    const p = await plan('billing.invoices', 'issued_at', 'month', { uniqueKeys: { invoices_number_key: 'extend' } });
    expect(p.ok).toBe(true);
    const appPool = new Pool({ connectionString: db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`), max: 2 });
    const viewBefore = (await db.pool.query(`SELECT * FROM billing.open_invoices ORDER BY id`)).rows;
    try {
      await db.withClient((c) => runPhase(c, p, 'shadow'));
      await db.withClient((c) => runPhase(c, p, 'sync'));
      // App writes during the copy: an update fires the stamping trigger once, a new row, a delete.
      await appPool.query(`UPDATE billing.invoices SET amount = amount + 1 WHERE id <= 10`);
      await appPool.query(`INSERT INTO billing.invoices (customer_id, number, issued_at) VALUES (3, 'NEW-1', now())`);
      await appPool.query(`DELETE FROM billing.invoices WHERE id BETWEEN 11 AND 15`);
      expect((await copyAll(db.pool, p, 64)).rows).toBe(296);
      await appPool.query(`UPDATE billing.invoices SET tags = tags || 'late'::text WHERE id <= 5`);
      const before = await db.withClient((c) => wholeParity(c, '"billing"."invoices"', '"billing"."invoices_partitioned"', 'issued_at', 'timestamptz'));
      expect(before.b).toEqual(before.a);
      expect(before.a.count).toBe('296');
      const writes = (await db.pool.query(`SELECT writes FROM billing.invoices WHERE id = 1`)).rows[0].writes;
      expect(writes).toBe(2); // two application updates, two firings: the sync fired none

      await db.withClient((c) => runPhaseInTransaction(c, p, 'swap'));
      expect((await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = 'billing.invoices'::regclass`)).rows[0].relkind).toBe('p');
      // The materialized view is recreated WITH NO DATA inside the swap (no refill under its lock) and refilled after it commits.
      await expect(db.pool.query(`SELECT sum(n)::int AS n FROM billing.invoice_totals`)).rejects.toThrow(/has not been populated/);
      await db.withClient((c) => runPhase(c, p, 'refresh'));
      expect((await db.pool.query(`SELECT sum(n)::int AS n FROM billing.invoice_totals`)).rows[0].n).toBe(296);
      expect((await db.pool.query(`SELECT * FROM billing.open_invoices ORDER BY id`)).rows.length).toBe((await db.pool.query(`SELECT count(*)::int AS n FROM billing.invoices WHERE state = 'open'`)).rows[0].n);
      await appPool.query(`UPDATE billing.invoices SET amount = amount + 1 WHERE id = 1`);
      expect((await db.pool.query(`SELECT writes FROM billing.invoices WHERE id = 1`)).rows[0].writes).toBe(3);
      const newId = (await appPool.query(`INSERT INTO billing.invoices (customer_id, number, state, issued_at) VALUES (4, 'NEW-2', 'open', now()) RETURNING id`)).rows[0].id;
      expect(Number(newId)).toBeGreaterThan(301);
      const retention = await db.withClient((c) => wholeParity(c, '"billing"."invoices"', '"billing"."invoices_old"', 'issued_at', 'timestamptz'));
      expect(retention.b).toEqual(retention.a);
      const viewAfter = (await db.pool.query(`SELECT * FROM billing.open_invoices WHERE id <> $1 ORDER BY id`, [newId])).rows;
      expect(viewAfter.length).toBe(viewBefore.filter((r) => !(r.id >= 11 && r.id <= 15)).length);

      // Something still on the old table: the drop waits, naming it, and drops nothing.
      await db.pool.query(`CREATE VIEW billing.peek_old AS SELECT id FROM billing.invoices_old`);
      await expect(db.withClient((c) => dropOld(c, p))).rejects.toThrow(/view billing\.peek_old .*still depend on it/);
      expect((await db.pool.query(`SELECT to_regclass('billing.invoices_old') IS NOT NULL AS kept`)).rows[0].kept).toBe(true);
      await db.pool.query(`DROP VIEW billing.peek_old`);
      await db.withClient((c) => dropOld(c, p));
      const next = (await appPool.query(`INSERT INTO billing.invoices (customer_id, number, issued_at) VALUES (5, 'NEW-3', now()) RETURNING id`)).rows[0].id;
      expect(Number(next)).toBeGreaterThan(Number(newId));
      expect((await db.pool.query(`SELECT to_regclass('billing.invoices_old') AS t`)).rows[0].t).toBeNull();
      expect((await db.pool.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'invoices' ORDER BY 1`)).rows.map((r) => r.indexname))
        .toEqual(['invoices_issued_idx', 'invoices_lower_number_idx', 'invoices_number_key', 'invoices_open_idx', 'invoices_pkey']);
    } finally {
      await appPool.end();
    }
  });

  it('an identity table swaps back after the swap with nothing lost and its ids continuing', async () => {
    const p = await plan('ev', 'at', 'day', { incomingForeignKeys: 'drop' });
    await db.withClient((c) => runPhase(c, p, 'shadow'));
    await db.withClient((c) => runPhase(c, p, 'sync'));
    await db.pool.query(`INSERT INTO ev (at, body) VALUES (now(), 'during copy')`);
    await copyAll(db.pool, p, 7);
    await db.withClient((c) => runPhaseInTransaction(c, p, 'swap'));
    const afterSwap = Number((await db.pool.query(`INSERT INTO ev (at, body) VALUES (now(), 'after swap') RETURNING id`)).rows[0].id);
    expect(afterSwap).toBe(52);
    // The phase drops nothing itself; as in swapBackGeneric, the keep-or-drop check runs last in its transaction.
    const back0 = await db.withClient((c) => runPhaseInTransaction(c, p, 'rollback after swap', 2000, 20,
      (t) => dropUnlessOnlyThere(t, { candidate: 'public.ev_partitioned', reference: 'public.ev', schema: 'public', base: 'ev' })));
    expect(back0.finished).toEqual({ dropped: true });
    expect((await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = 'ev'::regclass`)).rows[0].relkind).toBe('r');
    expect((await db.pool.query(`SELECT body FROM ev WHERE id = $1`, [afterSwap])).rows[0].body).toBe('after swap');
    const back = Number((await db.pool.query(`INSERT INTO ev (at, body) VALUES (now(), 'after swap back') RETURNING id`)).rows[0].id);
    expect(back).toBe(53);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'ev_notes_ev_id_fkey'`)).rows[0].n).toBe(1);
    expect((await db.pool.query(`SELECT to_regclass('ev_partitioned') AS t`)).rows[0].t).toBeNull();
  });
});
