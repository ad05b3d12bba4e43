/**
 * Runs PostgreSQL's own `initdb` and `postgres` from a native tree (pg-runtime.ts), as the
 * given OS user. Every failure — a binary that cannot be spawned, initdb or the server exiting
 * early (a port in use, a full disk) — rejects with a SetupError naming the next step; nothing
 * is left as an unhandled `error` event (which would kill the process before it could say why).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SetupError, toSetupError } from './setup-error';
import { SERVICE, type ServerUser } from './pg-runtime';

export interface PgServerSpec {
  /** The native tree: bin/initdb, bin/postgres. */
  binRoot: string;
  dataDir: string;
  socketDir: string;
  port: number;
  password: string;
  user?: ServerUser;
  flags: string[];
  log: (line: string) => void;
}

const ENV = { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' };

interface Running {
  child: ChildProcess;
  output: string[];
  /** Rejects when the binary cannot be spawned, or when it exits (with a non-zero code, or at all when `anyExit`). */
  failed: Promise<void>;
}

function run(spec: PgServerSpec, binary: string, args: string[], anyExit: boolean): Running {
  const file = path.join(spec.binRoot, 'bin', binary);
  if (!fs.existsSync(file)) {
    throw new SetupError(SERVICE, 'missing-binary', `${file} does not exist`, process.env.LICHEN_PG_BINARIES ? 'point LICHEN_PG_BINARIES at a PostgreSQL tree with bin/initdb and bin/postgres, or unset it.' : 'run `npm ci` again (it installs the PostgreSQL binaries), or set DATABASE_URL to a PostgreSQL server of your own.');
  }
  const child = spawn(file, args, { uid: spec.user?.uid, gid: spec.user?.gid, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const onData = (buf: Buffer) => {
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      output.push(line);
      if (output.length > 40) output.shift();
      spec.log(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const failed = new Promise<void>((resolve, reject) => {
    child.once('error', (err) => reject(spawnFailure(err, file, spec.user)));
    child.once('exit', (code, signal) => (code === 0 && !anyExit ? resolve() : reject(exitFailure(binary, code, signal, output))));
  });
  failed.catch(() => undefined);
  return { child, output, failed };
}

function spawnFailure(err: Error, file: string, user: ServerUser | undefined): SetupError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') {
    const who = user ? `the ${user.name} user` : 'this user';
    return new SetupError(SERVICE, 'permission', `${who} may not run ${file} (${code})`, process.env.LICHEN_PG_BINARIES ? `make LICHEN_PG_BINARIES a tree ${who} can read and run, or unset it.` : `make it readable and executable for ${who}, or set DATABASE_URL to a PostgreSQL server of your own.`, { cause: err });
  }
  return toSetupError(err, SERVICE);
}

function exitFailure(binary: string, code: number | null, signal: NodeJS.Signals | null, output: string[]): SetupError {
  const tail = output.slice(-8).join('\n');
  const message = `${binary} exited with ${code ?? signal}${tail ? `:\n${tail}` : ''}`;
  if (/Address already in use|could not bind/i.test(tail)) return new SetupError(SERVICE, 'port-in-use', message, 'its port is taken: free it (ss -ltnp shows who has it) or run again to pick another free port.');
  if (/No space left on device/i.test(tail)) return new SetupError(SERVICE, 'disk-full', message, 'the disk is full: free space in the temporary directory (df -h) and run again.');
  if (/Permission denied/i.test(tail)) return new SetupError(SERVICE, 'permission', message, 'the server user may not reach a file or directory named above: set DATABASE_URL to a server of your own, or fix that path.');
  return new SetupError(SERVICE, 'server', message, 'read the server output above; or set DATABASE_URL to a PostgreSQL server of your own.');
}

/** Creates the cluster in `spec.dataDir` (which must exist, owned by the server user). */
export async function initCluster(spec: PgServerSpec): Promise<void> {
  const pwfile = path.join(path.dirname(spec.dataDir), 'pwfile');
  fs.writeFileSync(pwfile, `${spec.password}\n`, { mode: 0o600 });
  if (spec.user) fs.chownSync(pwfile, spec.user.uid, spec.user.gid);
  try {
    const args = [`--pgdata=${spec.dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C', '--no-sync'];
    await run(spec, 'initdb', args, false).failed;
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

/** Starts the server; resolves once it accepts connections, with the child to stop later. */
export async function startServer(spec: PgServerSpec, timeoutMs = 60_000): Promise<ChildProcess> {
  const args = ['-D', spec.dataDir, '-p', String(spec.port), '-k', spec.socketDir, '-c', 'listen_addresses=127.0.0.1', ...spec.flags];
  const { child, output, failed } = run(spec, 'postgres', args, true);
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new SetupError(SERVICE, 'server', `postgres was not ready within ${timeoutMs} ms:\n${output.slice(-8).join('\n')}`, 'the machine may be overloaded: run again, or set DATABASE_URL to a PostgreSQL server of your own.'));
    }, timeoutMs);
    const onData = (buf: Buffer) => {
      if (!buf.toString('utf8').includes('database system is ready to accept connections')) return;
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      resolve();
    };
    child.stderr?.on('data', onData);
    failed.catch(() => clearTimeout(timer));
  });
  await Promise.race([ready, failed]);
  return child;
}

/** Stops the server (fast shutdown), SIGKILL after `graceMs`; a server already gone is fine. */
export async function stopServer(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}
