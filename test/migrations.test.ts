import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { applyMigrations, applyPlan, MigrationChangedError, DestructiveMigrationRefusedError, MigrationFailedError } from '../src/migrations/runner';
import { migrationsDir } from '../src/devenv/paths';
import { freshDatabase } from './helpers/db';

async function withDb<T>(cb: (c: Client, url: string) => Promise<T>): Promise<T> {
  const db = await freshDatabase('mig');
  const c = new Client({ connectionString: db.url });
  await c.connect();
  try {
    return await cb(c, db.url);
  } finally {
    await c.end();
    await db.drop();
  }
}

const monthName = (d: Date) => `memory_records_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
const addMonths = (d: Date, n: number) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));

async function partitionsOf(c: Client, parent: string): Promise<{ name: string; bounds: string }[]> {
  const r = await c.query<{ name: string; bounds: string }>(
    `SELECT child.relname AS name, pg_get_expr(child.relpartbound, child.oid) AS bounds
       FROM pg_inherits JOIN pg_class child ON pg_inherits.inhrelid = child.oid
       JOIN pg_class parent ON pg_inherits.inhparent = parent.oid
      WHERE parent.relname = $1 ORDER BY child.relname`,
    [parent],
  );
  return r.rows;
}

async function schemaFingerprint(c: Client): Promise<string> {
  const r = await c.query(`SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname) AS s FROM pg_class
                             WHERE relnamespace = 'public'::regnamespace`);
  return r.rows[0].s;
}

describe('migrations on a real Postgres', () => {
  it('applies the safe migration twice with no change the second time', async () => {
    await withDb(async (c) => {
      await c.query(`SET TIME ZONE 'UTC'`);
      const first = await applyPlan(c, 'partitioned');
      expect(first.map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied', 'applied', 'applied', 'applied', 'applied']);
      const before = await schemaFingerprint(c);
      const second = await applyPlan(c, 'partitioned');
      expect(second.map((r) => r.outcome)).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
      const third = await applyPlan(c, 'partitioned', { reapply: true });
      expect(third.map((r) => r.outcome)).toEqual(['reapplied', 'reapplied', 'reapplied', 'reapplied', 'reapplied', 'reapplied', 'reapplied']);
      expect(await schemaFingerprint(c)).toBe(before);
      const kind = await c.query(`SELECT relkind FROM pg_class WHERE oid = 'memory_records'::regclass`);
      expect(kind.rows[0].relkind).toBe('p');
    });
  });

  it('creates partitions for the current and next two months', async () => {
    await withDb(async (c) => {
      await applyPlan(c, 'partitioned');
      const now = new Date((await c.query(`SELECT now() AS n`)).rows[0].n);
      const names = (await partitionsOf(c, 'memory_records')).map((p) => p.name);
      // now() is evaluated in the server's time zone; accept both sides of a month boundary.
      for (const n of [0, 1, 2]) expect(names).toContain(monthName(addMonths(now, n)));
      expect(names.length).toBeGreaterThanOrEqual(3);
    });
  });

  it('stops over a heap memory_records with an error that names the conversion procedure', async () => {
    await withDb(async (c) => {
      await applyPlan(c, 'heap');
      await c.query(`INSERT INTO memory_records (id, owner_id, content) VALUES (gen_random_uuid(), 'o1', 'kept')`);
      const err = await applyPlan(c, 'partitioned').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationFailedError);
      expect((err as Error).message).toMatch(/heap \(non-partitioned\) table/);
      expect((err as Error).message).toMatch(/Heap-to-Partitioned Conversion Procedure/);
      const rows = await c.query('SELECT count(*)::int AS n FROM memory_records');
      expect(rows.rows[0].n).toBe(1);
      const ledger = await c.query(`SELECT filename FROM schema_migrations ORDER BY 1`);
      expect(ledger.rows.map((r) => r.filename)).not.toContain('002_partitions.sql');
    });
  });

  it('create_monthly_partition is idempotent and has correct bounds across a year boundary', async () => {
    // This year's December and next January: the helper makes months up to 13 ahead only.
    const Y = new Date().getUTCFullYear();
    await withDb(async (c) => {
      await c.query(`SET TIME ZONE 'UTC'`);
      await applyPlan(c, 'partitioned');
      const a = await c.query(`SELECT create_monthly_partition('${Y}-12-15'::date) AS p`);
      const b = await c.query(`SELECT create_monthly_partition('${Y}-12-01'::date) AS p`);
      const jan = await c.query(`SELECT create_monthly_partition('${Y + 1}-01-31'::date) AS p`);
      expect(a.rows[0].p).toBe(`memory_records_${Y}_12`);
      expect(b.rows[0].p).toBe(`memory_records_${Y}_12`);
      expect(jan.rows[0].p).toBe(`memory_records_${Y + 1}_01`);
      const parts = Object.fromEntries((await partitionsOf(c, 'memory_records')).map((p) => [p.name, p.bounds]));
      expect(parts[`memory_records_${Y}_12`]).toBe(`FOR VALUES FROM ('${Y}-12-01 00:00:00+00') TO ('${Y + 1}-01-01 00:00:00+00')`);
      expect(parts[`memory_records_${Y + 1}_01`]).toBe(`FOR VALUES FROM ('${Y + 1}-01-01 00:00:00+00') TO ('${Y + 1}-02-01 00:00:00+00')`);
      await c.query(`INSERT INTO memory_records (id, owner_id, content, created_at) VALUES
        (gen_random_uuid(), 'o', 'last instant of the year', '${Y}-12-31 23:59:59.999999+00'),
        (gen_random_uuid(), 'o', 'first instant of the next', '${Y + 1}-01-01 00:00:00+00')`);
      const placed = await c.query(`SELECT tableoid::regclass::text AS part, content FROM memory_records WHERE owner_id = 'o' ORDER BY created_at`);
      expect(placed.rows).toEqual([
        { part: `memory_records_${Y}_12`, content: 'last instant of the year' },
        { part: `memory_records_${Y + 1}_01`, content: 'first instant of the next' },
      ]);
    });
  });

  it('002a creates the partitioned shadow table beside the heap table', async () => {
    await withDb(async (c) => {
      await applyPlan(c, 'heap');
      await applyPlan(c, 'conversion');
      const kinds = await c.query(`SELECT relname, relkind FROM pg_class WHERE relname IN ('memory_records', 'memory_records_partitioned') ORDER BY 1`);
      expect(kinds.rows).toEqual([
        { relname: 'memory_records', relkind: 'r' },
        { relname: 'memory_records_partitioned', relkind: 'p' },
      ]);
      expect((await partitionsOf(c, 'memory_records_partitioned')).length).toBeGreaterThanOrEqual(3);
      const pk = await c.query(`SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conname = 'memory_records_partitioned_pkey'`);
      expect(pk.rows[0].d).toBe('PRIMARY KEY (id, created_at)');
    });
  });

  it('the dev migration drops and recreates with six months of partitions on an empty database', async () => {
    await withDb(async (c) => {
      await applyPlan(c, 'heap');
      await applyPlan(c, 'dev');
      const kind = await c.query(`SELECT relkind FROM pg_class WHERE oid = 'memory_records'::regclass`);
      expect(kind.rows[0].relkind).toBe('p');
      expect((await partitionsOf(c, 'memory_records')).length).toBe(6);
      const fn = await c.query(`SELECT proname FROM pg_proc WHERE proname = 'create_monthly_partition'`);
      expect(fn.rowCount).toBe(1);
    });
  });

  it('refuses the dev migration when memory_records holds rows or the database is marked production', async () => {
    await withDb(async (c) => {
      await applyPlan(c, 'heap');
      await c.query(`INSERT INTO memory_records (id, owner_id, content) VALUES (gen_random_uuid(), 'o1', 'precious')`);
      await expect(applyPlan(c, 'dev')).rejects.toThrow(DestructiveMigrationRefusedError);
      await expect(applyPlan(c, 'dev')).rejects.toThrow(/holds rows/);
      await c.query('DELETE FROM memory_records');
      await c.query(`INSERT INTO cutover_database_marker (environment) VALUES ('production')`);
      await expect(applyPlan(c, 'dev')).rejects.toThrow(/marked production/);
      expect((await c.query(`SELECT relkind FROM pg_class WHERE oid = 'memory_records'::regclass`)).rows[0].relkind).toBe('r');
    });
  });

  it('refuses an applied file that has changed since', async () => {
    await withDb(async (c) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mig-'));
      for (const f of fs.readdirSync(migrationsDir)) fs.copyFileSync(path.join(migrationsDir, f), path.join(dir, f));
      await applyMigrations(c, ['003_control_plane.sql'], { dir });
      fs.appendFileSync(path.join(dir, '003_control_plane.sql'), '\n-- an edit after the fact\n');
      const err = await applyMigrations(c, ['003_control_plane.sql'], { dir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationChangedError);
      expect((err as Error).message).toMatch(/003_control_plane\.sql was applied with checksum .* applied migrations are immutable/);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });

  it('two runners at once never interleave: both succeed and each file is applied once', async () => {
    await withDb(async (c, url) => {
      const other = new Client({ connectionString: url });
      await other.connect();
      try {
        const [a, b] = await Promise.all([applyPlan(c, 'partitioned'), applyPlan(other, 'partitioned')]);
        const outcomes = [...a, ...b].map((r) => `${r.name}:${r.outcome}`).sort();
        expect(outcomes).toEqual([
          '002_partitions.sql:applied', '002_partitions.sql:skipped',
          '003_control_plane.sql:applied', '003_control_plane.sql:skipped',
          '004_control_plane_mirror.sql:applied', '004_control_plane_mirror.sql:skipped',
          '005_app_role.sql:applied', '005_app_role.sql:skipped',
          '006_partition_function.sql:applied', '006_partition_function.sql:skipped',
          '007_instance_membership.sql:applied', '007_instance_membership.sql:skipped',
          '008_app_role_runs.sql:applied', '008_app_role_runs.sql:skipped',
        ]);
      } finally {
        await other.end();
      }
    });
  });
});
