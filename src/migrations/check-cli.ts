import fs from 'node:fs';
import path from 'node:path';
import { migrationsDir } from '../devenv/paths';
import { checkMigrationSql, readMigrationFiles, type GateFinding } from './gates';

/**
 * `npm run check:migrations [-- [--json] [DIR]]`: the runbook's CI gates over every `*.sql` in
 * DIR (default: the project's migrations/ folder).
 *
 * Exit codes, for CI: 0 no findings, 1 findings, 2 usage error (unknown option, missing folder,
 * no migration files). `main` is exported so that `cutover check-migrations` can reuse it.
 */

export const USAGE = `usage: check-migrations [--json] [DIR]

Runs the migration CI gates (destructive SQL, safe-migration banner, partition helper,
IF NOT EXISTS, parse errors) over every *.sql file in DIR (default: ${path.relative(process.cwd(), migrationsDir) || '.'}).

  --json     print the findings as a JSON array instead of text
  -h, --help show this help

Exit status: 0 no findings, 1 findings, 2 usage error.`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  let json = false;
  const dirs: string[] = [];
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '-h' || arg === '--help') {
      io.out(USAGE);
      return 0;
    } else if (arg.startsWith('-') && arg !== '-') {
      io.err(`check-migrations: unknown option ${arg}; allowed: --json, --help\n\n${USAGE}`);
      return 2;
    } else dirs.push(arg);
  }
  if (dirs.length > 1) {
    io.err(`check-migrations: expected at most one DIR, got ${dirs.length} (${dirs.join(', ')})\n\n${USAGE}`);
    return 2;
  }
  const dir = dirs[0] ?? migrationsDir;
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    io.err(`check-migrations: DIR ${dir} does not exist or is not a directory`);
    return 2;
  }

  const files = await readMigrationFiles(dir);
  if (files.length === 0) {
    // A gate pointed at the wrong folder must not pass silently.
    io.err(`check-migrations: no *.sql files in ${dir}; point DIR at the migrations folder`);
    return 2;
  }
  const findings = await checkMigrationSql(files);

  if (json) {
    io.out(JSON.stringify(findings.map((f) => ({ ...f, file: displayPath(f.file) })), null, 2));
  } else {
    for (const f of findings) io.out(formatFinding(f));
    io.out(summary(findings, files.length));
  }
  return findings.length > 0 ? 1 : 0;
}

/** `path/to/file.sql:LINE: [rule] message` and the fix, indented, on the next line. */
export function formatFinding(f: GateFinding): string {
  return `${displayPath(f.file)}:${f.line}: [${f.rule}] ${f.message}\n    fix: ${f.fix}`;
}

function summary(findings: GateFinding[], fileCount: number): string {
  const files = `${fileCount} migration file${fileCount === 1 ? '' : 's'} checked`;
  if (findings.length === 0) return `${files}, no findings`;
  const affected = new Set(findings.map((f) => f.file)).size;
  return `${files}, ${findings.length} finding${findings.length === 1 ? '' : 's'} in ${affected} file${affected === 1 ? '' : 's'}`;
}

/** Paths under the working directory are shown relative to it, others as given. */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), path.resolve(file));
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`check-migrations: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
