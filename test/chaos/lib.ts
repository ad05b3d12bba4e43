import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { inject } from 'vitest';
import { projectRoot } from '../../src/devenv/paths';
import { appendResult, type ScenarioResult } from './results';
import type { OracleVerdict } from '../../src/loadgen/oracle';

/** Asks the global setup (the servers' owner) to kill, restart, halt or resume a server. */
export async function chaos(action: 'temporal-kill' | 'temporal-restart' | 'pg-halt' | 'pg-resume' | 'pg-restart'): Promise<number> {
  const res = await fetch(`${inject('chaosControlUrl')}/${action}`, { method: 'POST', signal: AbortSignal.timeout(120_000) });
  const body = await res.text();
  if (!res.ok) throw new Error(`chaos ${action} failed: ${res.status} ${body}`);
  return (JSON.parse(body) as { ms: number }).ms;
}

/** Records a run for the reliability table (a no-op under `npm test`, which has no results file). */
export function recordResult(r: ScenarioResult): void {
  const file = inject('chaosResultsFile');
  if (file) appendResult(file, r);
}

/** Registers a secret a file made up (an admin token) for the suite's final scan (a no-op under `npm test`). */
export function registerSecret(name: string, value: string): void {
  const file = inject('chaosSecretsFile');
  if (file) fs.appendFileSync(file, `${JSON.stringify({ name, value })}\n`);
}

/** The secrets registered so far. */
export function registeredSecrets(): Record<string, string> {
  const file = inject('chaosSecretsFile');
  if (!file || !fs.existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const { name, value } = JSON.parse(line) as { name: string; value: string };
    out[name] = value;
  }
  return out;
}

let ownLogDir: string | undefined;
/** The chaos suite's log directory, or (under `npm test`) a temporary one of this process. */
export function logDir(): string {
  return inject('chaosLogDir') ?? (ownLogDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-test-logs-')));
}

export function lostRecords(v: Pick<OracleVerdict, 'missing' | 'stale' | 'resurrected'>): number {
  return v.missing + v.stale + v.resurrected;
}

/**
 * Runs `body` as one scenario run and records its outcome for the reliability table, pass or
 * fail (a failing run is recorded, then the test fails with its error).
 */
export async function scenario(name: string, body: () => Promise<{ dataLost: number | null; detail?: string }>): Promise<void> {
  try {
    const r = await body();
    recordResult({ scenario: name, passed: true, dataLost: r.dataLost, detail: r.detail });
  } catch (err) {
    recordResult({ scenario: name, passed: false, dataLost: null, detail: (err as Error).message.slice(0, 500) });
    throw err;
  }
}

/** A file in the suite's log directory; what is written there is scanned for secrets at the end. */
export function logFile(name: string): fs.WriteStream {
  return fs.createWriteStream(path.join(logDir(), `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.log`), { flags: 'a' });
}

/** Removes this process's own log directory (`npm test` only; the chaos suite's is removed by its teardown). */
export function removeOwnLogDir(): void {
  if (ownLogDir) fs.rmSync(ownLogDir, { recursive: true, force: true });
  ownLogDir = undefined;
}

/** Pipes a child's stdout and stderr into a log file of the suite. */
export function captureOutput(child: ChildProcess, name: string): void {
  const out = logFile(name);
  child.stdout?.on('data', (b: Buffer) => out.write(b));
  child.stderr?.on('data', (b: Buffer) => out.write(b));
  child.once('exit', () => setTimeout(() => out.end(), 100));
}

export interface ChaosWorker {
  child: ChildProcess;
  pid: number;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
}

const liveWorkers = new Set<ChaosWorker>();

/**
 * A worker in its own process (test/chaos/worker-child.ts: all activities, INFO logs), its
 * output captured in the log directory. Resolves once it polls.
 */
export async function spawnChaosWorker(opts: { taskQueue: string; dbUrl: string; adminToken: string; label: string }): Promise<ChaosWorker> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test/chaos/worker-child.ts')], {
    cwd: projectRoot,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      TASK_QUEUE: opts.taskQueue,
      // The profile and token reach the worker the way production's do: environment variables.
      LICHEN_DB_PROFILE_DEFAULT: opts.dbUrl,
      LICHEN_ADMIN_TOKEN: opts.adminToken,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  captureOutput(child, `worker-${opts.label}-${child.pid}`);
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`worker did not start in 60 s: ${stderr}`)), 60_000);
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('worker-ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`worker exited with ${code} before it was ready: ${stderr}`));
    });
  });
  const w: ChaosWorker = {
    child,
    pid: child.pid!,
    async kill() {
      liveWorkers.delete(w);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    },
  };
  liveWorkers.add(w);
  return w;
}

/** For afterAll: kills every worker this file spawned that is still running. */
export async function killAllWorkers(): Promise<void> {
  await Promise.allSettled([...liveWorkers].map((w) => w.kill()));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
