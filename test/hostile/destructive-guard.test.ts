import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { freshDatabase } from '../helpers/db';
import { applyPlan, DestructiveMigrationRefusedError } from '../../src/migrations/runner';
import { runCli } from '../cli/run-cli';

type Db = Awaited<ReturnType<typeof freshDatabase>>;
const dbs: Db[] = [];

async function database(prepare: (c: Client) => Promise<void>): Promise<Db> {
  const d = await freshDatabase('guard');
  dbs.push(d);
  const c = new Client({ connectionString: d.url });
  await c.connect();
  try {
    await prepare(c);
  } finally {
    await c.end();
  }
  return d;
}

async function fingerprint(url: string): Promise<string> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(`SELECT
      (SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace) AS rels,
      (SELECT count(*) FROM memory_records) AS rows`);
    return JSON.stringify(r.rows[0]);
  } finally {
    await c.end();
  }
}

const withRows = (c: Client) => applyPlan(c, 'heap').then(() => c.query(`INSERT INTO memory_records (id, owner_id, kind, content, metadata, created_at, updated_at) VALUES (gen_random_uuid(), 'o', 'note', 'keep me', '{}', now(), now())`)).then(() => undefined);
const markedProduction = (c: Client) => applyPlan(c, 'partitioned').then(() => c.query(`INSERT INTO cutover_database_marker (environment) VALUES ('production')`)).then(() => undefined);

let rows: Db;
let prod: Db;
beforeAll(async () => {
  rows = await database(withRows);
  prod = await database(markedProduction);
});
afterAll(async () => {
  await Promise.allSettled(dbs.map((d) => d.drop()));
});

describe('002_partitions_dev.sql (destructive) is refused where it would destroy something', () => {
  const cases = [
    ['memory_records holds rows', () => rows, /memory_records holds rows that it would delete/],
    ['the database is marked production (even with an empty table)', () => prod, /the database is marked production/],
  ] as const;

  it.each(cases)('runner: refused when %s, with a clear message, nothing changed', async (_name, db, message) => {
    const before = await fingerprint(db().url);
    const c = new Client({ connectionString: db().url });
    await c.connect();
    try {
      const err = await applyPlan(c, 'dev').then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DestructiveMigrationRefusedError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain('002_partitions_dev.sql is a destructive development migration and is refused here');
      expect((err as Error).message).toContain('Use 002_partitions.sql (safe)');
    } finally {
      await c.end();
    }
    expect(await fingerprint(db().url)).toBe(before);
  });

  it.each(cases)('cutover migrate --plan dev: refused when %s, exit 1, message on stderr, nothing changed', async (_name, db, message) => {
    const before = await fingerprint(db().url);
    const r = await runCli(['migrate', '--plan', 'dev', '--profile', 'guard'], { LICHEN_DB_PROFILE_GUARD: db().url });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('002_partitions_dev.sql is a destructive development migration and is refused here');
    expect(await fingerprint(db().url)).toBe(before);
  });

  it('is applied on an empty development database (the guard refuses only what it must)', async () => {
    const empty = await database((c) => applyPlan(c, 'heap').then(() => undefined));
    const r = await runCli(['migrate', '--plan', 'dev', '--profile', 'guard'], { LICHEN_DB_PROFILE_GUARD: empty.url });
    expect(r.code, r.stderr).toBe(0);
    expect(await fingerprint(empty.url)).toContain('memory_records:p');
  });
});
