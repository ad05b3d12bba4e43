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

describe('the guard is checked inside the migration transaction, and the marker is written by the CLI', () => {
  it('a row committed while the dev migration waits is seen by the guard: refused, the row kept', async () => {
    const empty = await database((c) => applyPlan(c, 'heap').then(() => undefined));
    const writer = new Client({ connectionString: empty.url });
    const runner = new Client({ connectionString: empty.url });
    await writer.connect();
    await runner.connect();
    try {
      // A writer's transaction is open with a new row: the check-then-act guard saw an empty table.
      await writer.query('BEGIN');
      await writer.query(`INSERT INTO memory_records (id, owner_id, content) VALUES (gen_random_uuid(), 'o', 'in flight')`);
      const applying = applyPlan(runner, 'dev').then(() => 'applied', (e: unknown) => e);
      await new Promise((r) => setTimeout(r, 500));
      const waiting = await writer.query(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'memory_records'::regclass`);
      expect(waiting.rows[0].n).toBe(1); // the runner waits for the lock before it checks
      await writer.query('COMMIT');
      const err = await applying;
      expect(err).toBeInstanceOf(DestructiveMigrationRefusedError);
      expect((err as Error).message).toMatch(/memory_records holds rows that it would delete/);
    } finally {
      await writer.end();
      await runner.end();
    }
    expect(await fingerprint(empty.url)).toContain('"rows":"1"');
  });

  it('cutover doctor reports an unmarked database holding records; migrate --mark-production marks it, and dev is refused', async () => {
    const d = await database(withRows);
    const env = { LICHEN_DB_PROFILE_GUARD: d.url };
    const before = await runCli(['doctor', '--profile', 'guard', '--json'], env);
    const marker = (JSON.parse(before.stdout) as { findings: { check: string; ok: boolean; fix?: string }[] }).findings.find((f) => f.check === 'database marker');
    expect(marker).toMatchObject({ ok: false, fix: expect.stringContaining('cutover migrate --mark-production') });
    expect(before.code).toBe(1);
    const marked = await runCli(['migrate', '--plan', 'control', '--mark-production', '--profile', 'guard'], env);
    expect(marked.code, marked.stderr).toBe(0);
    expect(marked.stdout).toContain('database marked production');
    const after = await runCli(['doctor', '--profile', 'guard', '--json'], env);
    expect((JSON.parse(after.stdout) as { findings: { check: string; ok: boolean; detail: string }[] }).findings.find((f) => f.check === 'database marker')).toMatchObject({ ok: true, detail: 'marked production' });
    const dev = await runCli(['migrate', '--plan', 'dev', '--profile', 'guard'], env);
    expect(dev.code).toBe(1);
    expect(dev.stderr).toMatch(/the database is marked production/);
  });
});
