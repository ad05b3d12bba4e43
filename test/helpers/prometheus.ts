import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Debian's `prometheus` (apt-get install prometheus; .ci/run installs it) for tests that check
 * the dashboard and the alert rules against a real Prometheus. Absent binary: the test skips
 * and says so, unless CI is set, where it fails.
 */
export function prometheusMissing(): string | undefined {
  for (const bin of ['prometheus', 'promtool']) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000 });
    if (r.error || r.status !== 0) return `${bin} is not installed (apt-get install prometheus)`;
  }
  return undefined;
}

/** Whether to skip: only when the binary is absent and CI is not set (under CI a missing binary fails the test). */
export function skipWithoutPrometheus(file: string): boolean {
  const missing = prometheusMissing();
  if (!missing) return false;
  if (process.env.CI === 'true') return false;
  process.stderr.write(`[${file}] SKIPPED: ${missing}; set CI=true to make this a failure\n`);
  return true;
}

export function requirePrometheus(): void {
  const missing = prometheusMissing();
  if (missing) throw new Error(`${missing}: CI=true, so the Prometheus test fails instead of skipping`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RunningPrometheus {
  url: string;
  child: ChildProcess;
  /** An instant query; throws with Prometheus' error for a bad expression. */
  query(expr: string): Promise<PromSample[]>;
  /** GET /api/v1/<path> → data. */
  api<T>(pathAndQuery: string): Promise<T>;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `jobs` (job name → host:port targets) every `intervalSeconds`, with `ruleFiles`. */
export async function startPrometheus(opts: { jobs: Record<string, string[]>; ruleFiles: string[]; intervalSeconds?: number }): Promise<RunningPrometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-prom-'));
  const interval = `${opts.intervalSeconds ?? 1}s`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'rule_files:',
    ...opts.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`),
    'scrape_configs:',
    ...Object.entries(opts.jobs).flatMap(([job, targets]) => [
      `  - job_name: ${JSON.stringify(job)}`,
      '    static_configs:',
      `      - targets: ${JSON.stringify(targets)}`,
    ]),
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), config + '\n');
  const port = await freePort();
  const child = spawn('prometheus', [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`prometheus did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const api = async <T>(p: string): Promise<T> => {
    const res = await fetch(`${url}/api/v1/${p}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${p}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    child,
    api,
    async query(expr) {
      const data = await api<{ resultType: string; result: PromSample[] | [number, string] }>(`query?query=${encodeURIComponent(expr)}`);
      if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
      return data.result as PromSample[];
    },
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const COMPARISONS = ['>=', '<=', '==', '!=', '>', '<'];

/**
 * An alert expression's measure: every comparison at the top level (outside parentheses,
 * braces, brackets and strings) gets the `bool` modifier, so the expression returns the
 * measured series (0/1 against the threshold) instead of only the ones that fire.
 */
export function withBoolComparisons(expr: string): string {
  let depth = 0;
  let quote: string | undefined;
  let out = '';
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i];
    if (quote) {
      out += ch;
      if (ch === '\\') out += expr[++i] ?? '';
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if ('({['.includes(ch)) depth++;
    else if (')}]'.includes(ch)) depth--;
    else if (depth === 0) {
      const op = COMPARISONS.find((o) => expr.startsWith(o, i));
      if (op) {
        out += op;
        i += op.length - 1;
        if (!/^\s*bool\b/.test(expr.slice(i + 1))) out += ' bool';
        continue;
      }
    }
    out += ch;
  }
  return out;
}
