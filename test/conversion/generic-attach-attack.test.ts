import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Pool } from 'pg';
import { useTestDatabase } from '../helpers/db';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { parseConversionChoice } from '../../src/conversion/choice/choice';
import { planConversion } from '../../activities/conversion/plan/plan';
import { createAttachActivities, type AttachInput } from '../../activities/conversion/generic/attach';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { createProfileResolver } from '../../src/config/profiles';
import { APP_ROLE_SQL } from './generic/shapes';

/**
 * Mode attach attacked the way production would (issue 25 item 3): each test is a finding that
 * failed before its fix. The activities are driven directly (the workflow adds only its order),
 * under the generic load as the app role, the row oracle at zero.
 */
const db = useTestDatabase('heap');
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let profiles: ReturnType<typeof createProfileResolver>;
const acts = () => createAttachActivities({ profiles });

const TABLE_SQL = (t: string) => `CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
  CREATE TABLE shop.${t} (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), ref uuid NOT NULL DEFAULT gen_random_uuid(), total numeric(12,2) NOT NULL,
    CONSTRAINT ${t}_ref_key UNIQUE (ref));
  INSERT INTO shop.${t} (placed_at, total) SELECT now() - g * interval '5 hours', g / 7.0 FROM generate_series(1, 600) g;
  GRANT SELECT, INSERT, UPDATE, DELETE ON shop.${t} TO ${app}; GRANT USAGE ON SEQUENCE shop.${t}_id_seq TO ${app};`;

beforeAll(async () => {
  profiles = createProfileResolver({ default: db.url });
  await db.pool.query(APP_ROLE_SQL(app));
  for (const t of ['n', 'x', 'v', 'w', 'y']) await db.pool.query(TABLE_SQL(t));
  // Sentinels below every interval (a "since forever" row, a BC date), and one above.
  await db.pool.query(`INSERT INTO shop.w (placed_at, total) VALUES ('-infinity', 1), ('0044-03-15 12:00 BC', 2); INSERT INTO shop.y (placed_at, total) VALUES ('infinity', 1)`);
  await db.pool.query(`ALTER TABLE shop.v ALTER COLUMN placed_at DROP NOT NULL`);
  // The key holds the partition column already; a child table's foreign key points at it (cascading the load's deletes).
  await db.pool.query(`CREATE TABLE shop.f (id bigserial, placed_at timestamptz NOT NULL DEFAULT now(), total numeric(12,2) NOT NULL, PRIMARY KEY (id, placed_at));
    INSERT INTO shop.f (placed_at, total) SELECT now() - g * interval '5 hours', g FROM generate_series(1, 400) g;
    CREATE TABLE shop.f_items (order_id bigint NOT NULL, order_at timestamptz NOT NULL, n int,
      CONSTRAINT f_items_order_fkey FOREIGN KEY (order_id, order_at) REFERENCES shop.f (id, placed_at) ON DELETE CASCADE);
    INSERT INTO shop.f_items SELECT id, placed_at, 1 FROM shop.f WHERE id % 4 = 0;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.f TO ${app}; GRANT USAGE ON SEQUENCE shop.f_id_seq TO ${app}; GRANT SELECT, DELETE ON shop.f_items TO ${app};`);
});
afterAll(async () => profiles?.close());

const choiceOf = (t: string) => parseConversionChoice({ table: `shop.${t}`, mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' }, options: { uniqueKeys: { [`${t}_ref_key`]: 'drop' } } });

const state = async (t: string) => (await db.pool.query(
  `SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k,
          (SELECT count(*)::int FROM pg_constraint WHERE conname LIKE 'lichen_attach_bound%' AND conrelid = to_regclass($1)) AS checks,
          (SELECT count(*)::int FROM pg_class WHERE relname = $2 || '_pkey_history') AS key_index,
          (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p') AS pk,
          (SELECT count(*)::int FROM pg_inherits WHERE inhparent = to_regclass($1) AND inhrelid = to_regclass($1 || '_history')) AS attached`,
  [`shop.${t}`, t])).rows[0];

/** Runs `fn` under the generic load as the app role; proves no write lost (judgeRows at zero). */
async function underLoad<T>(t: string, fn: () => Promise<T>): Promise<T> {
  const table = `shop.${t}`;
  const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(table)))));
  const baseline = await readImages(db.pool, `"shop"."${t}"`, key);
  const load = await startSqlLoad({ url: appUrl(), table, ratePerSec: 100, seed: 17, baseline, spreadDays: 60 });
  let out: T;
  try {
    await new Promise((r) => setTimeout(r, 300));
    out = await fn();
    await new Promise((r) => setTimeout(r, 300)); // writes go on after
  } finally {
    await load.stop();
  }
  expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(30);
  expect(load.stats().refused, load.stats().lastError).toBe(0);
  const v = await judgeRows(db.pool, `"shop"."${t}"`, key, baseline, load.log);
  expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  return out!;
}

describe('mode attach under attack', () => {
  it('a prepare that starts (or ends its index build) within an hour of the bound adds no check: it would refuse every write at or beyond the bound until a swap that may never come', async () => {
    const choice = choiceOf('n');
    const io: AttachInput = { profile: 'default', choice, planAt: Date.now(), lockTimeoutMs: 500, attachBound: Date.now() + 30 * 60_000 };
    await underLoad('n', async () => {
      // The bound chosen at preflight is 30 minutes away (a run that waited, a build that took a day).
      await expect(acts().attachPrepare(io)).rejects.toMatchObject({ type: 'AttachBoundReached', message: expect.stringMatching(/less than an hour away.*23514.*start it again/) });
      // Already past: the same.
      await expect(acts().attachPrepare({ ...io, attachBound: Date.now() - 60_000 })).rejects.toMatchObject({ type: 'AttachBoundReached' });
      // Nothing added; the swap refuses as well.
      expect(await state('n')).toMatchObject({ k: 'r', checks: 0, key_index: 0, pk: 'PRIMARY KEY (id)' });
      await expect(acts().attachSwap(io)).rejects.toMatchObject({ type: 'AttachBoundReached' });
      // A write at the bound an hour later would have been refused by the check: it is not.
      await db.pool.query(`INSERT INTO shop.n (id, placed_at, total) VALUES (8000000, to_timestamp($1 / 1000.0), 1)`, [io.attachBound]);
      await db.pool.query(`DELETE FROM shop.n WHERE id = 8000000`);
    });
    // The plan says so; the bound it chooses is far enough: the same prepare goes through.
    const plan = await db.withClient((c) => planConversion(c, choice));
    expect(plan.phases[0].what).toMatch(/is refused \(23514\); the check is not added, nor the swap started, less than an hour before .*the before-swap gate waits no longer than that: then the run rolls back before the swap/);
    const bound = plan.attach!.bound;
    expect(await acts().attachPrepare({ ...io, attachBound: bound })).toMatchObject({ indexBuilt: true, checkAdded: true, validated: true });
    expect(await acts().attachRollbackBeforeSwap({ ...io, attachBound: bound })).toEqual({ droppedCheck: true, droppedIndex: true, droppedParent: true });
  });

  it('a swap back whose moved-back rows collide with heap rows on the original key or on a unique key kept on the history is refused before anything changes, naming the keys; once resolved it goes through', async () => {
    const choice = choiceOf('x');
    const plan = await db.withClient((c) => planConversion(c, choice));
    expect(plan.ok, JSON.stringify(plan.blockers)).toBe(true);
    const io: AttachInput = { profile: 'default', choice, planAt: Date.now(), lockTimeoutMs: 500, attachBound: plan.attach!.bound };
    const a = acts();
    await underLoad('x', async () => {
      // A heap row the load does not touch (its own and the baseline's only), removed before the oracle judges.
      const heapRow = (await db.pool.query<{ id: string; ref: string }>(`INSERT INTO shop.x (id, placed_at, total) VALUES (9000002, now() - interval '1 day', 3) RETURNING id::text, ref::text`)).rows[0];
      await a.attachPrepare(io);
      const post = await a.attachPostStatements(io);
      expect((await a.attachSwap(io)).swapped).toBe(true);
      // As the app role, after the swap: the (id, placed_at) key and the history-only ref index let both rows in, in a new partition.
      const appPool = new Pool({ connectionString: appUrl() });
      try {
        await appPool.query(`INSERT INTO shop.x (id, placed_at, ref, total) VALUES (9000001, to_timestamp($1 / 1000.0) + interval '1 hour', $2, 1)`, [io.attachBound, heapRow.ref]);
        await appPool.query(`INSERT INTO shop.x (id, placed_at, total) VALUES ($1, to_timestamp($2 / 1000.0) + interval '2 hours', 2)`, [heapRow.id, io.attachBound]);
      } finally {
        await appPool.end();
      }
      const back = () => a.attachSwapBack({ profile: 'default', post, lockTimeoutMs: 500 });
      // The unique key kept on the history partition refuses the moved-back row: rolled back, still attached.
      await expect(back()).rejects.toMatchObject({ type: 'SwapBackKeyCollision', message: expect.stringMatching(new RegExp(`still partitioned and serving.*x_ref_key.*${heapRow.ref}`, 's')) });
      expect(await state('x')).toMatchObject({ k: 'p', attached: 1 });
      await db.pool.query(`DELETE FROM shop.x WHERE id = 9000001`);
      // The original key (id), which the heap enforces again after the swap back: refused before, naming the id.
      await expect(back()).rejects.toMatchObject({ type: 'SwapBackKeyCollision', message: expect.stringContaining(`(id) = (${heapRow.id}) held twice`) });
      expect(await state('x')).toMatchObject({ k: 'p', attached: 1, pk: 'PRIMARY KEY (id, placed_at)' });
      await db.pool.query(`DELETE FROM shop.x WHERE id = $1 AND placed_at >= to_timestamp($2 / 1000.0)`, [heapRow.id, io.attachBound]);
      expect(await back()).toMatchObject({ swappedBack: true, droppedPartitioned: true, keyRestored: true });
      await db.pool.query(`DELETE FROM shop.x WHERE id = 9000002`);
    });
    expect(await state('x')).toMatchObject({ k: 'r', checks: 0, key_index: 0, pk: 'PRIMARY KEY (id)', attached: 0 });
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM pg_index WHERE indrelid = 'shop.x'::regclass AND NOT indisvalid`)).rows[0].n).toBe(0);
  });

  it('a swap back of a table whose key holds the column gives back the incoming foreign keys the swap dropped (option "drop")', async () => {
    const choice = parseConversionChoice({ table: 'shop.f', mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' }, options: { incomingForeignKeys: 'drop' } });
    const plan = await db.withClient((c) => planConversion(c, choice));
    expect(plan.ok, JSON.stringify(plan.blockers)).toBe(true);
    expect(plan.decisions.map((d) => d.code)).toEqual(['incoming-foreign-key']);
    const io: AttachInput = { profile: 'default', choice, planAt: Date.now(), lockTimeoutMs: 500, attachBound: plan.attach!.bound };
    const fk = async () => (await db.pool.query(`SELECT pg_get_constraintdef(oid) AS d, confrelid::regclass::text AS t FROM pg_constraint WHERE conname = 'f_items_order_fkey'`)).rows;
    const before = await fk();
    const a = acts();
    await underLoad('f', async () => {
      expect(await a.attachPrepare(io)).toMatchObject({ indexBuilt: false, checkAdded: true });
      const post = await a.attachPostStatements(io);
      expect((await a.attachSwap(io)).swapped).toBe(true);
      expect(await fk(), 'dropped by the swap (the option chosen)').toEqual([]);
      expect(await a.attachSwapBack({ profile: 'default', post, lockTimeoutMs: 500 })).toMatchObject({ swappedBack: true, droppedPartitioned: true });
    });
    // Back NOT VALID, as the copy mode's swap back gives it (rows of the child written meanwhile are not re-checked under the lock).
    expect(await fk(), 'the foreign key is back on the heap').toEqual([{ ...before[0], d: `${before[0].d} NOT VALID` }]);
    expect(before).toEqual([{ d: 'FOREIGN KEY (order_id, order_at) REFERENCES shop.f(id, placed_at) ON DELETE CASCADE', t: 'shop.f' }]);
    // It holds again: a child row without its order is refused.
    await expect(db.pool.query(`INSERT INTO shop.f_items VALUES (-1, now(), 1)`)).rejects.toThrow(/f_items_order_fkey/);
  });

  it('rows written since preflight that the check refuses (a NULL, a value beyond the bound) fail the prepare at once, naming them and what to do, not eight retries of the same VALIDATE', async () => {
    const choice = choiceOf('v');
    const plan = await db.withClient((c) => planConversion(c, choice));
    expect(plan.ok, JSON.stringify(plan.blockers)).toBe(true);
    // Preflight's facts, carried as the workflow carries them (no activity scans the table again to re-plan).
    const io: AttachInput = { profile: 'default', choice, planAt: Date.now(), lockTimeoutMs: 500, attachBound: plan.attach!.bound, facts: plan.facts };
    await underLoad('v', async () => {
      // After preflight's scan, before the check: a NULL (the column is nullable; the plan saw none).
      await db.pool.query(`INSERT INTO shop.v (id, placed_at, total) VALUES (7000001, NULL, 1), (7000002, to_timestamp($1 / 1000.0) + interval '1 day', 1)`, [io.attachBound]);
      await expect(acts().attachPrepare(io)).rejects.toMatchObject({
        type: 'AttachBoundViolated', nonRetryable: true,
        message: expect.stringMatching(/placed_at NULL or at or beyond the bound .*WHERE "placed_at" IS NULL OR "placed_at" >= .*start the run again/),
      });
      await db.pool.query(`DELETE FROM shop.v WHERE id IN (7000001, 7000002)`);
      // The rollback before the swap removes what the prepare left (the NOT VALID check, the index).
      // The prepare stopped before building the parent: there is none to drop.
      expect(await acts().attachRollbackBeforeSwap(io)).toEqual({ droppedCheck: true, droppedIndex: true, droppedParent: false });
      expect(await state('v')).toMatchObject({ k: 'r', checks: 0, key_index: 0 });
    });
  });

  it('-infinity and BC values are below the bound: the history partition holds them (no attach-values-outside); +infinity is still refused, named', async () => {
    const above = await db.withClient((c) => planConversion(c, choiceOf('y')));
    expect(above.blockers).toEqual([expect.objectContaining({ code: 'attach-values-outside', message: expect.stringMatching(/^1 row\(s\) have placed_at = \+infinity or a year after 9999/) })]);
    const choice = choiceOf('w');
    const plan = await db.withClient((c) => planConversion(c, choice));
    expect(plan.ok, JSON.stringify(plan.blockers)).toBe(true);
    expect(plan.facts).toMatchObject({ outside: 2, outsideAbove: 0 });
    const io: AttachInput = { profile: 'default', choice, planAt: Date.now(), lockTimeoutMs: 500, attachBound: plan.attach!.bound, facts: plan.facts };
    const a = acts();
    await underLoad('w', async () => {
      // One the load does not touch (it updates the baseline's rows, these included), removed before the oracle judges.
      await db.pool.query(`INSERT INTO shop.w (id, placed_at, total) VALUES (9200000, '-infinity', 1)`);
      await a.attachPrepare(io);
      const post = await a.attachPostStatements(io);
      expect((await a.attachSwap(io)).swapped).toBe(true);
      expect((await db.pool.query(`SELECT tableoid::regclass::text AS p FROM shop.w WHERE id = 9200000`)).rows).toEqual([{ p: 'shop.w_history' }]);
      expect(await a.attachSwapBack({ profile: 'default', post, lockTimeoutMs: 500 })).toMatchObject({ swappedBack: true, droppedPartitioned: true });
      await db.pool.query(`DELETE FROM shop.w WHERE id = 9200000`);
    });
    expect(await state('w')).toMatchObject({ k: 'r', checks: 0, key_index: 0, pk: 'PRIMARY KEY (id)' });
  });

  it('a worker role that owns nothing is refused at the plan in mode attach, naming the table, its owner and the fix; nothing changes', async () => {
    const wrk = `wrk_${process.pid}`;
    await db.pool.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${wrk}') THEN CREATE ROLE ${wrk} LOGIN PASSWORD 'w-pw' NOSUPERUSER; END IF; END $$;
      GRANT USAGE ON SCHEMA shop TO ${wrk}; GRANT SELECT, TRIGGER ON shop.n TO ${wrk}`);
    const c = new Client({ connectionString: db.url.replace(/\/\/[^@]+@/, `//${wrk}:w-pw@`) });
    await c.connect();
    try {
      const p = await planConversion(c, choiceOf('n'));
      expect(p.ok).toBe(false);
      const b = p.blockers.find((x) => x.code === 'worker-cannot-alter');
      expect(b, JSON.stringify(p.blockers)).toBeDefined();
      expect(b!.message).toMatch(/table shop\.n \(owner \w+\)/);
      expect(p.modes.attach.ok).toBe(false);
    } finally {
      await c.end();
    }
    expect(await state('n')).toMatchObject({ k: 'r', checks: 0, key_index: 0 });
  });
});
