import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../helpers/db';
import { runCli } from '../../cli/run-cli';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { buildPlan, planConversion, type ConversionPlan } from '../../../activities/conversion/plan/plan';
import { readTableDescriptor } from '../../../activities/conversion/descriptor';
import { nameRegex, readAppFacts } from '../../../activities/conversion/plan/app-changes';
import { readDataFacts } from '../../../activities/conversion/plan/facts';
import { summarisePlan } from '../../../activities/conversion/generic/activities';
import { runPhase, runPhaseInTransaction } from '../../../activities/conversion/generic/execute';

const db = useTestDatabase();
const env = () => ({ LICHEN_DB_PROFILE_TEST: db.url });
const choice = (table: string, column: string, interval = 'month') => parseConversionChoice({ table, partitionBy: { column, interval } });
const plan = (table: string, column: string): Promise<ConversionPlan> => db.withClient((c) => planConversion(c, choice(table, column)));

describe('the plan\'s section "what changes for your application"', () => {
  it('names the ON CONFLICT targets that stop matching, UPDATE-moves and UPDATE triggers, identity and sequences, publications and NOT VALID constraints, in the CLI, the JSON and the recorded summary', async () => {
    await db.pool.query(`
      CREATE SCHEMA shop;
      CREATE TABLE shop.orders (id bigserial PRIMARY KEY, ref bigint GENERATED ALWAYS AS IDENTITY, placed_at timestamptz NOT NULL, total numeric NOT NULL, touched int NOT NULL DEFAULT 0);
      INSERT INTO shop.orders (placed_at, total) SELECT now() - g * interval '1 day', CASE WHEN g = 3 THEN -1 ELSE g END FROM generate_series(1, 40) g;
      ALTER TABLE shop.orders ADD CONSTRAINT orders_total_nonnegative CHECK (total >= 0) NOT VALID;
      CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN IF NEW.placed_at = OLD.placed_at THEN NEW.touched := OLD.touched + 1; END IF; RETURN NEW; END $f$;
      CREATE TRIGGER orders_touch BEFORE UPDATE ON shop.orders FOR EACH ROW EXECUTE FUNCTION shop.touch();
      CREATE PUBLICATION orders_pub FOR TABLE shop.orders WITH (publish_via_partition_root = true);`);
    const r = await runCli(['plan', 'conversion', '--table', 'shop.orders', '--partition-by', 'placed_at', '--interval', 'month', '--profile', 'test', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    const p = r.json<ConversionPlan>();
    const by = (kind: string) => p.appChanges.filter((x) => x.kind === kind);
    expect(by('on-conflict-target')).toEqual([expect.objectContaining({ object: 'orders_pkey', severity: 'warning' })]);
    expect(by('on-conflict-target')[0].message).toContain('ON CONFLICT (id) finds no matching unique index');
    expect(by('on-conflict-target')[0].message).toContain('pg_stat_statements is not installed');
    expect(by('update-moves')).toEqual([expect.objectContaining({ severity: 'warning' })]);
    expect(by('update-moves')[0].message).toContain('orders_touch');
    expect(by('identity')).toEqual([expect.objectContaining({ object: 'ref' })]);
    expect(by('sequence')).toEqual([expect.objectContaining({ object: 'shop.orders_id_seq' })]);
    expect(by('publication')).toEqual([expect.objectContaining({ object: 'orders_pub' })]);
    expect(by('not-valid-constraint')).toEqual([expect.objectContaining({ object: 'orders_total_nonnegative' })]);
    // Only reads of NEW.placed_at: no trigger writes it, nothing blocks.
    expect(by('before-trigger')).toEqual([]);
    expect(p.ok).toBe(true);

    const text = await runCli(['plan', 'conversion', '--table', 'shop.orders', '--partition-by', 'placed_at', '--interval', 'month', '--profile', 'test'], env());
    expect(text.stdout).toContain('WHAT CHANGES FOR YOUR APPLICATION');
    expect(text.stdout).toMatch(/! warning \[on-conflict-target\] orders_pkey: /);

    // A unique key dropped by choice is named too.
    await db.pool.query(`CREATE UNIQUE INDEX orders_ref_key ON shop.orders (ref)`);
    const dropped = await db.withClient((c) => planConversion(c, parseConversionChoice({ table: 'shop.orders', partitionBy: { column: 'placed_at', interval: 'month' }, options: { uniqueKeys: { orders_ref_key: 'drop' } } })));
    expect(dropped.appChanges.filter((x) => x.kind === 'on-conflict-target').map((x) => x.object)).toEqual(['orders_pkey', 'orders_ref_key']);
    expect(dropped.appChanges.find((x) => x.object === 'orders_ref_key')!.message).toContain('nothing refuses a duplicate');
    await db.pool.query(`DROP INDEX shop.orders_ref_key`);

    const summary = summarisePlan(await plan('shop.orders', 'placed_at'));
    expect(summary.appChanges.map((x) => x.kind).sort()).toEqual(['identity', 'not-valid-constraint', 'on-conflict-target', 'publication', 'sequence', 'update-moves']);
  });

  it('warns that a nullable partition column refuses NULL from the sync\'s installation on (the key gains it), as the run then does', async () => {
    await db.pool.query(`
      CREATE SCHEMA loose;
      CREATE TABLE loose.visits (id bigserial PRIMARY KEY, seen_at timestamp, page text NOT NULL);
      INSERT INTO loose.visits (seen_at, page) SELECT localtimestamp - g * interval '1 day', 'p' || g FROM generate_series(1, 40) g;`);
    const p = await plan('loose.visits', 'seen_at');
    expect(p.ok).toBe(true);
    const w = p.appChanges.filter((x) => x.kind === 'partition-column-not-null');
    expect(w).toEqual([expect.objectContaining({ object: 'seen_at', severity: 'warning' })]);
    expect(w[0].message).toContain('from the installation of the sync on');
    expect(w[0].message).toContain('ALTER TABLE "loose"."visits" ALTER COLUMN seen_at SET NOT NULL');
    // What it warns of: once the sync is installed, the heap refuses the NULL the application could write before.
    await db.pool.query(`INSERT INTO loose.visits (seen_at, page) VALUES (NULL, 'before')`);
    await db.pool.query(`DELETE FROM loose.visits WHERE seen_at IS NULL`);
    await db.withClient((c) => runPhase(c, p, 'shadow'));
    await db.withClient((c) => runPhaseInTransaction(c, p, 'sync', 500));
    await expect(db.pool.query(`INSERT INTO loose.visits (seen_at, page) VALUES (NULL, 'during')`)).rejects.toMatchObject({ code: '23514' });
  });

  it('lists the ON CONFLICT statements pg_stat_statements holds, or says why it could not read them', async () => {
    await db.pool.query(`CREATE TABLE carts (id bigint PRIMARY KEY, at timestamptz NOT NULL); INSERT INTO carts VALUES (1, now())`);
    await db.pool.query(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`);
    const facts = await db.withClient(async (c) => readAppFacts(c, await readTableDescriptor(c, { schema: 'public', name: 'carts' }), 'at'));
    // The test server does not preload the module: the view is there but refuses to be read, and the plan says so.
    const preloaded = (await db.pool.query<{ v: string }>(`SELECT current_setting('shared_preload_libraries') AS v`)).rows[0].v.includes('pg_stat_statements');
    if (!preloaded) expect(facts.conflictStatements).toEqual({ queries: null, reason: expect.stringContaining('pg_stat_statements is not readable') });

    // The statements it would find, as the plan reports them.
    const p = await db.withClient(async (c) => {
      const d = await readTableDescriptor(c, { schema: 'public', name: 'carts' });
      const ch = choice('carts', 'at');
      return buildPlan(d, await readDataFacts(c, d, 'at', 'timestamp with time zone'), ch, Date.now(), { ...facts, conflictStatements: { queries: ['INSERT INTO carts (id, at) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at'] } });
    });
    const w = p.appChanges.find((x) => x.kind === 'on-conflict-target')!;
    expect(w.message).toContain('pg_stat_statements holds 1 statement(s)');
    expect(w.message).toContain('ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at');
    const hidden = await db.withClient(async (c) => {
      const d = await readTableDescriptor(c, { schema: 'public', name: 'carts' });
      return buildPlan(d, null, choice('carts', 'at'), Date.now(), { ...facts, conflictStatements: { queries: [], hidden: 4 } });
    });
    expect(hidden.appChanges.find((x) => x.kind === 'on-conflict-target')!.message).toContain('4 statement(s) of other roles are hidden from the plan\'s role: grant it pg_read_all_stats');
    await db.pool.query(`DROP EXTENSION pg_stat_statements`);

    // The statements are matched by the table's name as a whole word, bare or quoted, as Postgres evaluates the pattern.
    const match = async (query: string, name: string) => (await db.pool.query<{ m: boolean }>(`SELECT $1 ~* $2 AS m`, [query, nameRegex(name)])).rows[0].m;
    expect(await match('INSERT INTO public.carts (id, at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', 'carts')).toBe(true);
    expect(await match('insert into CARTS(id) values ($1) on conflict do nothing', 'carts')).toBe(true);
    expect(await match('INSERT INTO carts_archive (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', 'carts')).toBe(false);
    expect(await match('INSERT INTO "SalesEU"."Order Events" ("Event Id") VALUES ($1) ON CONFLICT DO NOTHING', 'Order Events')).toBe(true);
    expect(await match('INSERT INTO "a.b(c" VALUES ($1) ON CONFLICT DO NOTHING', 'a.b(c')).toBe(true);
  });

  it('blocks a BEFORE INSERT row trigger that writes the partition column, however it writes it, and only warns for one on UPDATE', async () => {
    await db.pool.query(`
      CREATE TABLE "Metrics" (id bigint PRIMARY KEY, "Taken At" timestamptz NOT NULL, v int);
      INSERT INTO "Metrics" VALUES (1, now(), 1);
      CREATE FUNCTION fill_select() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN SELECT now() INTO NEW."Taken At"; RETURN NEW; END $f$;
      CREATE FUNCTION fill_whole() RETURNS trigger LANGUAGE plpgsql AS $f$ DECLARE r "Metrics"; BEGIN r := NEW; NEW := r; RETURN NEW; END $f$;
      CREATE FUNCTION fill_update() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN NEW."Taken At" = clock_timestamp(); RETURN NEW; END $f$;
      CREATE FUNCTION other_column() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN NEW.v := coalesce(NEW.v, 0); RETURN NEW; END $f$;
      CREATE TRIGGER a_select BEFORE INSERT ON "Metrics" FOR EACH ROW EXECUTE FUNCTION fill_select();
      CREATE TRIGGER b_whole BEFORE INSERT OR UPDATE ON "Metrics" FOR EACH ROW EXECUTE FUNCTION fill_whole();
      CREATE TRIGGER c_update BEFORE UPDATE ON "Metrics" FOR EACH ROW EXECUTE FUNCTION fill_update();
      CREATE TRIGGER d_other BEFORE INSERT ON "Metrics" FOR EACH ROW EXECUTE FUNCTION other_column();
      CREATE TRIGGER e_disabled BEFORE INSERT ON "Metrics" FOR EACH ROW EXECUTE FUNCTION fill_select();
      ALTER TABLE "Metrics" DISABLE TRIGGER e_disabled;`);
    const p = await db.withClient((c) => planConversion(c, { ...choice('Metrics', 'placeholder'), column: 'Taken At' }));
    expect(p.blockers.map((b) => `${b.code}:${b.object}`)).toEqual(['before-trigger-writes-partition-column:a_select', 'before-trigger-writes-partition-column:b_whole']);
    expect(p.blockers[0].message).toContain('public.fill_select');
    expect(p.blockers[0].message).toContain('SET DEFAULT');
    expect(p.appChanges.filter((x) => x.kind === 'before-trigger').map((x) => `${x.object}:${x.severity}`)).toEqual(['a_select:blocker', 'b_whole:blocker', 'c_update:warning', 'e_disabled:warning']);
    expect(p.ok).toBe(false);
  });

  it('refuses a NOT VALID foreign key before PostgreSQL 18 (it cannot be added to a partitioned table there), naming it and the fix', async () => {
    await db.pool.query(`
      CREATE TABLE owners (id int PRIMARY KEY); INSERT INTO owners VALUES (1);
      CREATE TABLE pets (id int PRIMARY KEY, owner int NOT NULL, born date NOT NULL); INSERT INTO pets VALUES (1, 1, current_date), (2, 9, current_date);
      ALTER TABLE pets ADD CONSTRAINT pets_owner_fk FOREIGN KEY (owner) REFERENCES owners (id) NOT VALID;`);
    const p = await db.withClient(async (c) => {
      const d = await readTableDescriptor(c, { schema: 'public', name: 'pets' });
      const ch = choice('pets', 'born', 'year');
      const facts = await readDataFacts(c, d, 'born', 'date');
      return { on18: buildPlan({ ...d, serverVersionNum: 180000 }, facts, ch, Date.now()), on17: buildPlan({ ...d, serverVersionNum: 170005 }, facts, ch, Date.now()) };
    });
    expect(p.on17.blockers).toEqual([expect.objectContaining({ code: 'not-valid-foreign-key', object: 'pets_owner_fk', message: expect.stringContaining('VALIDATE CONSTRAINT "pets_owner_fk"') })]);
    // 18 carries it: not on the shadow, added NOT VALID in the swap.
    expect(p.on18.blockers).toEqual([]);
    const shadow = p.on18.phases.find((x) => x.phase === 'shadow')!.statements.join('\n');
    expect(shadow).not.toContain('pets_owner_fk');
    expect(p.on18.phases.find((x) => x.phase === 'swap')!.statements).toContain('ALTER TABLE "public"."pets" ADD CONSTRAINT "pets_owner_fk" FOREIGN KEY (owner) REFERENCES public.owners(id) NOT VALID');
  });
});
