import fs from 'node:fs/promises';
import path from 'node:path';
import { loadModule } from 'libpg-query';
import { gateFile } from './gates/rules';
import { analyseFile } from './gates/parse-tree';
import type { GateFinding, MigrationSource } from './gates/types';

export * from './gates/types';

/**
 * The runbook's CI gates for migration files ("CI/CD Integration"):
 *
 *  1. destructive SQL blocker — no DROP TABLE, DROP SCHEMA or TRUNCATE in any `*.sql` except
 *     files ending in `_dev.sql`;
 *  2. safe-migration banner — `002_partitions.sql` says "SAFE PRODUCTION MIGRATION";
 *  3. partition validation — `002_partitions.sql` defines `create_monthly_partition` and every
 *     CREATE TABLE / CREATE INDEX in it uses IF NOT EXISTS;
 *  plus: a file the PostgreSQL parser rejects is a finding of its own.
 *
 * Everything is decided on PostgreSQL's own parse tree (libpg-query: the real parser compiled to
 * WASM), never on regular expressions over the text: words in comments or string literals raise
 * no alarm, and case, whitespace or comments between keywords hide nothing. SQL built at run time
 * (EXECUTE in a DO block or a PL/pgSQL function) is reconstructed from the expression's string
 * constants and parsed too; when such a string cannot be parsed, its literal contents get a
 * keyword check instead, so the gate errs on the side of blocking.
 *
 * The parts (src/migrations/gates/): types.ts (findings, the names the gates look for),
 * rules.ts (findings from facts), parse-tree.ts (the analysis on the parse tree, function
 * bodies, PL/pgSQL), dynamic-sql.ts (reconstructing SQL built at run time), scanner.ts (the
 * keyword check for text that does not parse, token helpers), facts.ts and nodes.ts (shared).
 */

/** Runs every gate over the given files. Findings come sorted by file, then line. */
export async function checkMigrationSql(files: MigrationSource[]): Promise<GateFinding[]> {
  await loadModule();
  const findings: GateFinding[] = [];
  for (const f of files) findings.push(...gateFile(f.name, f.sql, analyseFile(f.sql)));
  return findings.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
}

/** Runs every gate over all `*.sql` files of `dir` (not recursive). */
export async function checkMigrationsDir(dir: string): Promise<GateFinding[]> {
  return checkMigrationSql(await readMigrationFiles(dir));
}

/** All `*.sql` files of `dir`, sorted by name; `name` is `dir` joined with the file name. */
export async function readMigrationFiles(dir: string): Promise<MigrationSource[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isFile() && e.name.endsWith('.sql')).map((e) => e.name).sort();
  return Promise.all(names.map(async (n) => ({ name: path.join(dir, n), sql: await fs.readFile(path.join(dir, n), 'utf8') })));
}
