import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortUpdate, statusQuery } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { parseConversionChoice } from '../../src/conversion/choice/choice';
import { planConversion } from '../../activities/conversion/plan/plan';
import { renderPlan } from '../../activities/conversion/plan/render';
import { createAttachActivities, type AttachInput } from '../../activities/conversion/generic/attach';
import { APP_ROLE_SQL } from './generic/shapes';
import { startWorker, underGenericLoad, waitFor } from './harness';

/**
 * Mode attach with the user's own unique index on (key, partition column): the parent's key
 * adopts it at ATTACH PARTITION, no index is built before the swap (nor inside its lock), a
 * rollback never drops it, and an INVALID one is never taken.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

// placed_at nullable on purpose (the swap sets NOT NULL; the swap back drops it again); the user's UNIQUE (id, placed_at) as memory_records has one.
const TABLE_SQL = (t: string, unique: string) => `CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
  CREATE TABLE shop.${t} (id bigserial PRIMARY KEY, placed_at timestamptz DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL);
  ${unique};
  CREATE INDEX ${t}_customer_idx ON shop.${t} (customer);
  INSERT INTO shop.${t} (placed_at, customer, total) SELECT now() - g * interval '7 hours', g % 13, g / 7.0 FROM generate_series(1, 1000) g;
  GRANT SELECT, INSERT, UPDATE, DELETE ON shop.${t} TO ${app}; GRANT USAGE ON SEQUENCE shop.${t}_id_seq TO ${app};`;

/** Every index of the relation and each one's parent index (the partition's index of the parent's). */
const indexes = async (rel: string) => (await db.pool.query<{ oid: number; name: string; parent: string | null; valid: boolean }>(
  `SELECT i.indexrelid::int AS oid, c.relname AS name, (SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = i.indexrelid) AS parent, i.indisvalid AS valid
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass($1) ORDER BY c.relname`, [rel])).rows;

const input = (t: string, extra: Record<string, unknown> = {}) => ({ table: `shop.${t}`, mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, ...extra });
const choice = (t: string) => parseConversionChoice({ table: `shop.${t}`, mode: 'attach', partitionBy: { column: 'placed_at', interval: 'month' } });

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-attach-index');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(TABLE_SQL('u', 'ALTER TABLE shop.u ADD CONSTRAINT u_id_placed_key UNIQUE (id, placed_at)'));
  await db.pool.query(TABLE_SQL('v', 'CREATE UNIQUE INDEX v_placed_id_idx ON shop.v (placed_at, id)'));
  await db.pool.query(TABLE_SQL('w', 'CREATE UNIQUE INDEX w_id_placed_idx ON shop.w (id, placed_at)'));
  await db.pool.query(TABLE_SQL('x', 'SELECT 1'));
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

describe('mode attach uses an existing unique index on (key, partition column)', () => {
  it('under load as the app role: no index built, the user\'s UNIQUE constraint is the history partition\'s index of the new table\'s key; the plan says so', async () => {
    const p = await db.withClient((c) => planConversion(c, choice('u')));
    expect(p.ok, JSON.stringify(p.blockers)).toBe(true);
    expect(p.attach).toMatchObject({ keyIndex: null, existingIndex: { index: 'u_id_placed_key', constraint: 'u_id_placed_key', columns: ['id', 'placed_at'] } });
    expect(p.phases[0].statements.join('\n')).not.toMatch(/CREATE UNIQUE INDEX/);
    expect(p.phases[1].statements.join('\n')).not.toMatch(/PRIMARY KEY/);
    expect(p.phases.map((x) => x.phase)).not.toContain('attach restore key');
    expect(p.modes.attach).toMatchObject({ extraDiskBytes: 0, indexBuild: 'none: uses the existing index u_id_placed_key' });
    const text = renderPlan(p);
    expect(text).toMatch(/uses the existing index u_id_placed_key/);
    expect(text).toMatch(/new key UNIQUE u_id_placed_key \(id, placed_at\)/);
    const before = await indexes('shop.u');
    const userOid = before.find((i) => i.name === 'u_id_placed_key')!.oid;
    const s = await underGenericLoad(db, appUrl(), 'shop.u', { seed: 21, ratePerSec: 100, spreadDays: 60 }, async () => {
      const h = await temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId: `attach-index-u-${taskQueue}`, args: [input('u')] });
      return (await h.result()) as GenericConversionSummary;
    });
    expect(s.outcome, s.cause).toBe('completed');
    expect(s.attach).toMatchObject({ history: '"shop"."u_history"', prepared: { indexBuilt: false, checkAdded: true, validated: true } });
    const after = await indexes('shop.u_history');
    // No index was created on the heap: the same indexes (by oid), the user's one now the partition's index of the parent's key.
    expect(after.map((i) => i.oid).sort()).toEqual(before.map((i) => i.oid).sort());
    expect(after.find((i) => i.oid === userOid)).toMatchObject({ name: 'u_id_placed_key_history', parent: 'shop.u_id_placed_key', valid: true });
    const keys = (await db.pool.query(`SELECT conname, contype::text AS t, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'shop.u'::regclass AND contype IN ('p', 'u')`)).rows;
    expect(keys).toEqual([{ conname: 'u_id_placed_key', t: 'u', def: 'UNIQUE (id, placed_at)' }]);
    // The heap keeps its primary key as the history partition's own; a new partition has the parent's key only.
    expect((await db.pool.query(`SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conrelid = 'shop.u_history'::regclass AND contype = 'p'`)).rows).toEqual([{ d: 'PRIMARY KEY (id)' }]);
    // The app's ON CONFLICT on (id, placed_at) works on the new table.
    await db.pool.query(`INSERT INTO shop.u (id, placed_at, customer, total) VALUES (1, (SELECT placed_at FROM shop.u WHERE id = 1), 1, 1) ON CONFLICT (id, placed_at) DO NOTHING`);
  });

  it('a rollback after the swap keeps the user\'s index (same oid, its name back) and the heap\'s key; a plain unique index in another column order is used too', async () => {
    const p = await db.withClient((c) => planConversion(c, choice('v')));
    expect(p.attach).toMatchObject({ keyIndex: null, existingIndex: { index: 'v_placed_id_idx', constraint: null, columns: ['placed_at', 'id'] } });
    const before = await indexes('shop.v');
    const userOid = before.find((i) => i.name === 'v_placed_id_idx')!.oid;
    const extraId = 9_000_000;
    const s = await underGenericLoad(db, appUrl(), 'shop.v', { seed: 22, ratePerSec: 100, spreadDays: 60 }, async () => {
      const h = await temporal.client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId: `attach-index-v-${taskQueue}`, args: [input('v', { retentionMinutes: 30, retentionCheckMinutes: 0.05 })] });
      await waitFor('the retention window', async () => (await h.query(statusQuery)).phases.some((x) => x.phase === 'retention'), 90_000);
      expect((await indexes('shop.v_history')).find((i) => i.oid === userOid)).toMatchObject({ parent: 'shop.v_placed_id_idx' });
      // A row beyond the bound lands in a new partition and moves back with the rollback.
      await db.pool.query(`INSERT INTO shop.v (id, placed_at, customer, total) VALUES ($1, now() + interval '100 days', 1, 1)`, [extraId]);
      await h.executeUpdate(abortUpdate, { args: [{ operator: 'ops', reason: 'change window closed' }] });
      const r = (await h.result()) as GenericConversionSummary;
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM shop.v WHERE id = $1`, [extraId])).rows[0].n).toBe(1);
      await db.pool.query(`DELETE FROM shop.v WHERE id = $1`, [extraId]);
      return r;
    });
    expect(s.outcome).toBe('aborted');
    expect(s.attach).toMatchObject({ prepared: { indexBuilt: false }, movedBack: 1 });
    expect(s.attach?.keyRestored).toBeUndefined();
    expect(s.keptTables ?? []).toEqual([]);
    const after = await indexes('shop.v');
    expect(after.map((i) => [i.oid, i.name])).toEqual(before.map((i) => [i.oid, i.name]));
    const st = (await db.pool.query(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'shop.v'::regclass) AS k,
      (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'shop.v'::regclass AND contype = 'p') AS pk,
      (SELECT attnotnull FROM pg_attribute WHERE attrelid = 'shop.v'::regclass AND attname = 'placed_at') AS nn,
      to_regclass('shop.v_partitioned')::text AS parked, (SELECT count(*)::int FROM pg_constraint WHERE conname LIKE 'lichen_attach_bound%') AS checks`)).rows[0];
    expect(st).toEqual({ k: 'r', pk: 'PRIMARY KEY (id)', nn: false, parked: null, checks: 0 });
  });

  it('an INVALID index of the same columns is never taken: the plan names it, plans its own build, and blocks attach until it is dropped or rebuilt', async () => {
    // A failed CREATE INDEX CONCURRENTLY leaves its index so (marked here directly: the key makes a real failure on these columns impossible).
    await db.pool.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'shop.w_id_placed_idx'::regclass`);
    const p = await db.withClient((c) => planConversion(c, choice('w')));
    expect(p.attach?.existingIndex).toBeNull();
    expect(p.attach?.existingIndexWhy).toMatch(/w_id_placed_idx: it is INVALID/);
    expect(p.attach?.keyIndex?.create).toMatch(/CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "w_pkey_history" ON "shop"."w" \("id", "placed_at"\)/);
    expect(p.ok).toBe(false);
    expect(p.blockers.map((b) => [b.code, b.object])).toEqual([['attach-invalid-index', 'w_id_placed_idx']]);
    expect(renderPlan(p)).toMatch(/w_id_placed_idx is INVALID/);
    // Rebuilt valid, the same index is used.
    await db.pool.query(`REINDEX INDEX shop.w_id_placed_idx`);
    const q = await db.withClient((c) => planConversion(c, choice('w')));
    expect(q.ok, JSON.stringify(q.blockers)).toBe(true);
    expect(q.attach).toMatchObject({ keyIndex: null, existingIndex: { index: 'w_id_placed_idx' } });
  });

  it('the prepare builds the parent and its partitions before the swap; a prepare that built none (a run started before) still swaps; a foreign table under the parked name is refused', async () => {
    const acts = createAttachActivities({ profiles: env.profiles });
    const c = choice('x');
    const bound = (await db.withClient((cl) => planConversion(cl, c))).attach!.bound;
    const io: AttachInput = { profile: 'default', choice: c, planAt: Date.now(), lockTimeoutMs: 500, attachBound: bound };
    const parked = async () => (await db.pool.query(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass('shop.x_partitioned')) AS k, (SELECT count(*)::int FROM pg_inherits WHERE inhparent = to_regclass('shop.x_partitioned')) AS parts`)).rows[0];
    // Someone else's table under the parked name: refused, named, nothing dropped.
    await db.pool.query(`CREATE TABLE shop.x_partitioned (a int)`);
    await expect(acts.attachPrepare(io)).rejects.toThrow(/shop"?\.?"?x_partitioned"? exists and is not the partitioned table this run builds/);
    expect(await acts.attachRollbackBeforeSwap(io)).toMatchObject({ droppedParent: false });
    expect(await parked()).toEqual({ k: 'r', parts: 0 });
    await db.pool.query(`DROP TABLE shop.x_partitioned`);
    expect(await acts.attachPrepare(io)).toMatchObject({ indexBuilt: true, checkAdded: true, validated: true });
    const built = await parked();
    expect(built.k).toBe('p');
    expect(built.parts).toBeGreaterThan(0);
    // Idempotent: a second prepare keeps it.
    await acts.attachPrepare(io);
    expect(await parked()).toEqual(built);
    // As a run whose prepare built no parent: the swap builds it inside its lock.
    await db.pool.query(`DROP TABLE shop.x_partitioned`);
    const r = await underGenericLoad(db, appUrl(), 'shop.x', { seed: 23, ratePerSec: 100, spreadDays: 60 }, () => acts.attachSwap(io));
    expect(r).toMatchObject({ swapped: true, history: '"shop"."x_history"' });
    expect((await db.pool.query(`SELECT relkind::text AS k, (SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'shop.x'::regclass) AS parts FROM pg_class WHERE oid = 'shop.x'::regclass`)).rows[0]).toEqual({ k: 'p', parts: built.parts + 1 });
  });
});
