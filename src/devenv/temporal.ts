import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import { freePort, waitForPort } from './ports';
import { resolveTemporalCli } from './temporal-cli';
import { settingUp } from './setup-error';

export interface RunningTemporal {
  /** gRPC address, host:port. */
  address: string;
  namespace: string;
  /** Web UI URL when started with `ui: true`. */
  uiUrl?: string;
  cliPath: string;
  /** How the CLI was found (TEMPORAL_CLI_PATH, PATH, project cache, pip …). */
  cliRoute: string;
  dbFilename?: string;
  pid?: number;
  stop(): Promise<void>;
  /** Kills the server with SIGKILL (chaos tests). */
  kill(): Promise<void>;
  /** Starts it again on the same ports and persistence file. */
  restart(): Promise<void>;
}

export interface StartTemporalOptions {
  ui?: boolean;
  /** Persist to this SQLite file (survives a restart); in memory when absent. */
  dbFilename?: string;
  namespace?: string;
  port?: number;
  uiPort?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Receives the server's output lines. */
  log?: (line: string) => void;
}

/**
 * Starts `temporal server start-dev` on free loopback ports with the project's search
 * attributes registered, and waits until it answers.
 */
export function startTemporal(opts: StartTemporalOptions = {}): Promise<RunningTemporal> {
  return settingUp('the Temporal dev server', () => startDevServer(opts));
}

async function startDevServer(opts: StartTemporalOptions): Promise<RunningTemporal> {
  const cli = await resolveTemporalCli();
  const namespace = opts.namespace ?? 'default';
  const port = opts.port ?? (await freePort());
  const uiPort = opts.ui ? (opts.uiPort ?? (await freePort())) : undefined;
  const metricsPort = await freePort();
  const httpPort = await freePort();
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--http-port', String(httpPort),
    '--metrics-port', String(metricsPort),
    '--namespace', namespace,
    '--log-level', opts.logLevel ?? 'warn',
    '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value', 'frontend.workerVersioningWorkflowAPIs=true',
  ];
  for (const sa of CUSTOM_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${sa.name}=Keyword`);
  if (uiPort) args.push('--ui-port', String(uiPort), '--ui-ip', '127.0.0.1');
  else args.push('--headless');
  if (opts.dbFilename) args.push('--db-filename', opts.dbFilename);

  const address = `127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const log = opts.log ?? (() => undefined);

  const launch = async () => {
    child = spawn(cli.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const early: string[] = [];
    const onData = (buf: Buffer) => {
      for (const line of buf.toString().split('\n')) {
        if (!line.trim()) continue;
        if (early.length < 50) early.push(line);
        log(line);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    let exited: string | undefined;
    child.once('exit', (code, sig) => (exited = `exited with ${code ?? sig}`));
    try {
      await waitForServer(address, namespace, 60_000, () => exited);
      if (uiPort) await waitForPort('127.0.0.1', uiPort, 30_000);
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`Temporal dev server (${cli.path}) did not start: ${(err as Error).message}\n${early.slice(-10).join('\n')}`);
    }
  };
  await launch();

  const stopChild = async (signal: NodeJS.Signals) => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const done = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(t);
  };

  return {
    address,
    namespace,
    uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
    cliPath: cli.path,
    cliRoute: cli.route,
    dbFilename: opts.dbFilename,
    get pid() {
      return child?.pid;
    },
    stop: () => stopChild('SIGTERM'),
    kill: () => stopChild('SIGKILL'),
    async restart() {
      await stopChild('SIGKILL');
      await launch();
    },
  };
}

async function waitForServer(address: string, namespace: string, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const why = exited();
    if (why) throw new Error(`the process ${why}`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await conn.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await conn.close();
      }
    } catch (err) {
      last = (err as Error).message;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`no answer on ${address} within ${timeoutMs} ms (${last})`);
}

/** A temporary path for a dev-server persistence file. */
export function tempDbFilename(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-temporal-'));
  return path.join(dir, 'temporal.sqlite');
}
