import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { Pool } from 'pg';
import type { PersistenceMode } from '../../workflows/types';
import { createMemoryService, type MemoryService } from '../../src/memory-layer/server';
import { projectRoot } from '../../src/devenv/paths';
import { appRoleUrl } from './app-role';

export interface AppInstance {
  url: string;
  instanceId: string;
  stop(): Promise<void>;
  /** In-process extras: the service (stores, control-plane member) and its own pool. */
  service: MemoryService;
  pool: Pool;
}

export interface StartAppsOptions {
  dbUrl: string;
  adminToken?: string;
  bootMode?: PersistenceMode;
  target?: string;
  table?: string;
  heartbeatMs?: number;
  leaseMs?: number;
  /** Instance id prefix (default app). */
  prefix?: string;
  /**
   * `app` (default): connect as the database's unprivileged app role (app-role.ts), as
   * production does; `owner`: with `dbUrl` itself.
   */
  role?: 'app' | 'owner';
}

export interface RunningApps {
  instances: AppInstance[];
  adminToken: string;
  stopAll(): Promise<void>;
}

const DEFAULT_BOOT: PersistenceMode = { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: true };

/**
 * Starts `n` memory-layer instances in this process, each with its own pool (as separate
 * processes would have). The database must hold the control-plane tables (and the table the
 * Postgres store uses). The caller stops them with stopAll().
 */
export async function startApps(n: number, opts: StartAppsOptions): Promise<RunningApps> {
  const adminToken = opts.adminToken ?? `tok_${crypto.randomBytes(12).toString('hex')}`;
  const run = crypto.randomBytes(3).toString('hex');
  const instances: AppInstance[] = [];
  const url = opts.role === 'owner' ? opts.dbUrl : await appRoleUrl(opts.dbUrl);
  try {
    for (let i = 0; i < n; i++) {
      const pool = new Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 3_000 });
      pool.on('error', () => undefined);
      const instanceId = `${opts.prefix ?? 'app'}-${run}-${i}`;
      try {
        const service = await createMemoryService({
          instanceId,
          pool,
          adminToken,
          bootMode: opts.bootMode ?? DEFAULT_BOOT,
          target: opts.target,
          table: opts.table,
          heartbeatMs: opts.heartbeatMs,
          leaseMs: opts.leaseMs,
        });
        instances.push({
          url: service.url,
          instanceId,
          service,
          pool,
          stop: async () => {
            await service.stop();
            await pool.end().catch(() => undefined);
          },
        });
      } catch (err) {
        await pool.end().catch(() => undefined);
        throw err;
      }
    }
  } catch (err) {
    await Promise.allSettled(instances.map((i) => i.stop()));
    throw err;
  }
  return {
    instances,
    adminToken,
    stopAll: async () => {
      await Promise.allSettled(instances.map((i) => i.stop()));
    },
  };
}

export interface SpawnAppOptions {
  dbUrl: string;
  adminToken: string;
  instanceId?: string;
  bootMode?: PersistenceMode;
  /** Extra environment. */
  env?: Record<string, string>;
  /** How long to wait for the "listening" line (default 20 s). */
  startTimeoutMs?: number;
  /** As StartAppsOptions.role. */
  role?: 'app' | 'owner';
}

export interface SpawnedApp {
  url: string;
  pid: number;
  instanceId: string;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the process wrote to stderr so far (JSON log lines). */
  stderr(): string;
}

/**
 * One instance as a child process (`node --import tsx src/memory-layer/main.ts`, a single
 * process, so SIGKILL really kills the server). Resolves once it prints its listening line.
 * The caller kills it (and awaits `exited`).
 */
export async function spawnAppProcess(opts: SpawnAppOptions): Promise<SpawnedApp> {
  const mode = opts.bootMode ?? DEFAULT_BOOT;
  const instanceId = opts.instanceId ?? `proc-${crypto.randomBytes(3).toString('hex')}`;
  const dbUrl = opts.role === 'owner' ? opts.dbUrl : await appRoleUrl(opts.dbUrl);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/memory-layer/main.ts')], {
    cwd: projectRoot,
    env: {
      ...process.env,
      DATABASE_URL: dbUrl,
      LICHEN_ADMIN_TOKEN: opts.adminToken,
      INSTANCE_ID: instanceId,
      PORT: '0',
      HOST: '127.0.0.1',
      PERSISTENCE: mode.persistence,
      DUAL_WRITE_PRIMARY: mode.primary,
      DUAL_WRITE_FAIL_FAST: String(mode.failFast),
      DUAL_WRITE_ENABLED: String(mode.dualWriteEnabled),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errText = '';
  child.stderr!.on('data', (d: Buffer) => (errText += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`app process ${instanceId} did not start within ${opts.startTimeoutMs ?? 20_000} ms; stderr:\n${errText}`));
    }, opts.startTimeoutMs ?? 20_000);
    const lines = readline.createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; url?: string };
        if (msg.event === 'listening' && msg.url) {
          clearTimeout(timer);
          resolve(msg.url);
        }
      } catch {
        // not ours
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`app process ${instanceId} exited (code ${code}, signal ${signal}) before listening; stderr:\n${errText}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    instanceId,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited,
    stderr: () => errText,
  };
}
