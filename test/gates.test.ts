import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrationsDir, projectRoot } from '../src/devenv/paths';
import { main, type CliIo } from '../src/migrations/check-cli';
import { checkMigrationSql, checkMigrationsDir, type GateFinding } from '../src/migrations/gates';

// The migration CI gates need no database: they read files and parse them with PostgreSQL's
// parser. Fixtures mark each expected finding with a `-- expect: <rule>` comment on its line.

const fixtures = path.join(__dirname, 'fixtures', 'gates');

function expectedFindings(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((text, i) => [...text.matchAll(/-- expect: ([a-z-]+)/g)].map((m) => `${i + 1}:${m[1]}`));
}

const actual = (findings: GateFinding[]) => findings.map((f) => `${f.line}:${f.rule}`);

function sqlFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
}

async function checkOne(file: string): Promise<GateFinding[]> {
  return checkMigrationSql([{ name: path.basename(file), sql: fs.readFileSync(file, 'utf8') }]);
}

describe('destructive SQL blocker', () => {
  const dir = path.join(fixtures, 'destructive');
  it.each(sqlFiles(dir))('flags %s at the line of each destructive statement', async (name) => {
    const file = path.join(dir, name);
    const expected = expectedFindings(file);
    expect(expected.length).toBeGreaterThan(0);
    const findings = await checkOne(file);
    expect(actual(findings)).toEqual(expected);
    for (const f of findings) {
      expect(f.file).toBe(name);
      expect(f.message).toMatch(/DROP TABLE|DROP SCHEMA|TRUNCATE/);
      expect(f.fix).toMatch(/_dev\.sql/);
      expect(f.fix).toMatch(/DETACH PARTITION/);
    }
  });

  it('sees through a comment between the keywords', async () => {
    const [f] = await checkMigrationSql([{ name: 'x.sql', sql: 'drop /* x */ TABLE foo;' }]);
    expect(f).toMatchObject({ file: 'x.sql', line: 1, rule: 'destructive-sql' });
    expect(f.message).toContain('DROP TABLE foo');
  });

  it('names dynamic SQL, where it runs, and hides run-time parts behind a placeholder', async () => {
    const findings = await checkOne(path.join(dir, 'function-format.sql'));
    expect(findings[0].message).toBe(
      'DROP TABLE <run-time value> (dynamic SQL run by EXECUTE in function purge) is destructive and this file may run in production',
    );
  });

  it('raises no false alarm for words inside comments and string literals', async () => {
    const file = path.join(fixtures, 'clean', 'literals-and-comments.sql');
    expect(fs.readFileSync(file, 'utf8')).toMatch(/never drop table/);
    expect(await checkOne(file)).toEqual([]);
  });

  it('exempts files ending in _dev.sql, and only those', async () => {
    const sql = fs.readFileSync(path.join(fixtures, 'clean', 'destructive_dev.sql'), 'utf8');
    expect(await checkMigrationSql([{ name: 'migrations/destructive_dev.sql', sql }])).toEqual([]);
    const renamed = await checkMigrationSql([{ name: 'migrations/destructive.sql', sql }]);
    expect(actual(renamed)).toEqual(['2:destructive-sql', '3:destructive-sql', '4:destructive-sql', '5:destructive-sql']);
    expect(await checkMigrationSql([{ name: 'migrations/destructive_dev.sql.bak.sql', sql }])).toHaveLength(4);
  });

  it('accepts empty and comment-only files', async () => {
    expect(await checkMigrationSql([{ name: 'empty.sql', sql: '' }, { name: 'notes.sql', sql: '-- drop table x\n/* truncate y */\n' }])).toEqual([]);
  });

  it('reports lines by UTF-8 byte offsets correctly after multi-byte text', async () => {
    const sql = "SELECT 'ééé — ü';\n-- ünïcödé\nTRUNCATE x;\n";
    expect(actual(await checkMigrationSql([{ name: 'u.sql', sql }]))).toEqual(['3:destructive-sql']);
  });
});

describe('parse errors', () => {
  const dir = path.join(fixtures, 'parse-error');
  it.each(sqlFiles(dir))('reports %s with the parser message and line', async (name) => {
    const file = path.join(dir, name);
    const findings = await checkOne(file);
    expect(actual(findings)).toEqual(expectedFindings(file));
    expect(findings[0].message).toMatch(/does not parse/);
    expect(findings[0].fix).toMatch(/parse/);
  });

  it('gives the position of the syntax error, not of the file start', async () => {
    const [f] = await checkOne(path.join(dir, 'broken.sql'));
    expect(f.message).toContain('syntax error at or near "FROM"');
  });
});

describe('safe migration gates (002_partitions.sql)', () => {
  it.each(['safe-no-banner', 'safe-no-helper', 'safe-no-if-not-exists'])('%s fails with exactly its own findings', async (fixture) => {
    const file = path.join(fixtures, fixture, '002_partitions.sql');
    const findings = await checkMigrationsDir(path.dirname(file));
    expect(actual(findings)).toEqual(expectedFindings(file));
    for (const f of findings) expect(f.file).toBe(file);
  });

  it('tells how to fix each of them', async () => {
    const [banner] = await checkMigrationsDir(path.join(fixtures, 'safe-no-banner'));
    expect(banner.fix).toContain('SAFE PRODUCTION MIGRATION');
    const [helper] = await checkMigrationsDir(path.join(fixtures, 'safe-no-helper'));
    expect(helper.fix).toContain('CREATE OR REPLACE FUNCTION create_monthly_partition');
    const ine = await checkMigrationsDir(path.join(fixtures, 'safe-no-if-not-exists'));
    expect(ine.map((f) => f.message)).toEqual([
      'CREATE TABLE <run-time value> (dynamic SQL run by EXECUTE in function create_monthly_partition) lacks IF NOT EXISTS, so re-running 002_partitions.sql fails',
      'CREATE TABLE memory_records lacks IF NOT EXISTS, so re-running 002_partitions.sql fails',
      'CREATE INDEX memory_records_created_idx lacks IF NOT EXISTS, so re-running 002_partitions.sql fails',
      'CREATE INDEX memory_records_kind_idx (dynamic SQL run by EXECUTE in DO block) lacks IF NOT EXISTS, so re-running 002_partitions.sql fails',
    ]);
    for (const f of ine) expect(f.fix).toMatch(/add IF NOT EXISTS/);
  });

  it('applies only to 002_partitions.sql', async () => {
    const sql = 'CREATE TABLE t (a int);\nCREATE INDEX ON t (a);';
    expect(await checkMigrationSql([{ name: '004_other.sql', sql }])).toEqual([]);
    expect(actual(await checkMigrationSql([{ name: '002_partitions.sql', sql: `-- SAFE PRODUCTION MIGRATION\n${sql}` }]))).toEqual([
      '1:partition-helper',
      '2:if-not-exists',
      '3:if-not-exists',
    ]);
  });

  it('does not count a helper defined only in dynamic SQL', async () => {
    const sql = `-- SAFE PRODUCTION MIGRATION
DO $$ BEGIN
  EXECUTE 'CREATE FUNCTION create_monthly_partition(m date) RETURNS void LANGUAGE sql AS ''SELECT 1''';
END $$;`;
    expect(actual(await checkMigrationSql([{ name: '002_partitions.sql', sql }]))).toEqual(['1:partition-helper']);
  });
});

describe('the real migrations/ folder', () => {
  it('passes every gate', async () => {
    expect(await checkMigrationsDir(migrationsDir)).toEqual([]);
  });

  it('still has the destructive statement in the dev migration that the exemption covers', async () => {
    const sql = fs.readFileSync(path.join(migrationsDir, '002_partitions_dev.sql'), 'utf8');
    const asProd = await checkMigrationSql([{ name: '002_partitions.sql', sql }]);
    expect(asProd.map((f) => f.rule)).toEqual(expect.arrayContaining(['destructive-sql', 'safe-banner', 'if-not-exists']));
  });
});

describe('check-migrations CLI', () => {
  const temps: string[] = [];
  afterEach(() => {
    for (const t of temps.splice(0)) fs.rmSync(t, { recursive: true, force: true });
  });

  function copyOfMigrations(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gates-'));
    temps.push(dir);
    for (const f of sqlFiles(migrationsDir)) fs.copyFileSync(path.join(migrationsDir, f), path.join(dir, f));
    return dir;
  }

  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const io: CliIo = { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) };
    const code = await main(argv, io);
    return { code, out, err };
  }

  it('exits 1 naming the file and line when a destructive statement is appended to the safe migration', () => {
    const dir = copyOfMigrations();
    const file = path.join(dir, '002_partitions.sql');
    const before = fs.readFileSync(file, 'utf8');
    fs.appendFileSync(file, 'drop /* x */ TABLE foo;\n');
    const line = before.split('\n').length; // the appended statement's line (the file ends in \n)

    const res = spawnSync(path.join(projectRoot, 'node_modules', '.bin', 'tsx'), ['src/migrations/check-cli.ts', dir], {
      cwd: projectRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(res.status).toBe(1);
    expect(res.stdout).toContain(`${file}:${line}: [destructive-sql] DROP TABLE foo is destructive`);
    expect(res.stdout).toMatch(/\n {4}fix: move destructive statements to a file ending in _dev\.sql/);
    expect(res.stdout).toContain('10 migration files checked, 1 finding in 1 file');
  });

  it('exits 1 when the safe migration lost its banner', async () => {
    const dir = copyOfMigrations();
    const file = path.join(dir, '002_partitions.sql');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('SAFE PRODUCTION MIGRATION', 'production migration'));
    const res = await run([dir]);
    expect(res.code).toBe(1);
    expect(res.out).toContain(`${file}:1: [safe-banner]`);
  });

  it('exits 0 on the real folder, by default and when named', async () => {
    for (const argv of [[], [migrationsDir]]) {
      const res = await run(argv);
      expect(res).toEqual({ code: 0, out: '10 migration files checked, no findings\n', err: '' });
    }
  });

  it('prints the findings as a JSON array with --json', async () => {
    const dir = copyOfMigrations();
    fs.appendFileSync(path.join(dir, '003_control_plane.sql'), '\nTRUNCATE cutover_runs;\n');
    const res = await run(['--json', dir]);
    expect(res.code).toBe(1);
    const parsed = JSON.parse(res.out) as GateFinding[];
    expect(parsed).toHaveLength(1);
    expect(parsed[0]).toMatchObject({ file: path.join(dir, '003_control_plane.sql'), rule: 'destructive-sql' });
    expect(parsed[0].line).toBe(fs.readFileSync(path.join(dir, '003_control_plane.sql'), 'utf8').trimEnd().split('\n').length);

    const clean = await run(['--json', migrationsDir]);
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.out)).toEqual([]);
  });

  it('exits 2 on usage errors, naming the problem', async () => {
    const missing = await run([path.join(os.tmpdir(), 'no-such-migrations-dir')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/does not exist/);

    const unknown = await run(['--strict']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown option --strict; allowed: --json, --help/);

    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gates-empty-'));
    temps.push(empty);
    const none = await run([empty]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/no \*\.sql files/);
  });
});
