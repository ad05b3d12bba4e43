import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/devenv/paths';

/**
 * `npm run demo` as a user runs it: a child process, its output, its exit status, and nothing
 * left running afterwards (servers stopped, ports closed, no descendant processes alive).
 */

interface DemoRun {
  child: ChildProcess;
  out(): string;
  err(): string;
  /** Resolves when a stdout line matches. */
  line(re: RegExp, timeoutMs: number): Promise<string>;
  exited: Promise<number | null>;
  /** Every process below the demo, collected while it ran. */
  descendants: Set<number>;
}

function descendantsOf(pid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  const kids = r.stdout.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  return kids.flatMap((k) => [k, ...descendantsOf(k)]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runDemo(args: string[]): DemoRun {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/demo/main.ts'), ...args], {
    cwd: projectRoot,
    env: { ...process.env, DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const descendants = new Set<number>();
  const sampler = setInterval(() => child.pid && descendantsOf(child.pid).forEach((p) => descendants.add(p)), 500);
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const hit = out.split('\n').find((l) => w.re.test(l));
      if (hit) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      clearInterval(sampler);
      resolve(code);
    }),
  );
  return {
    child,
    out: () => out,
    err: () => err,
    descendants,
    exited,
    line: (re, timeoutMs) =>
      new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
        waiters.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
        void exited.then(() => setTimeout(() => reject(new Error(`the demo exited before a line matching ${re}; stdout:\n${out}\nstderr:\n${err}`)), 50));
      }),
  };
}

/** The processes of `pids` still alive after up to `graceMs` (an exiting child takes a moment), with their command lines. */
async function survivors(pids: Iterable<number>, graceMs = 5_000): Promise<string[]> {
  const deadline = Date.now() + graceMs;
  let left = [...pids].filter(alive);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    left = left.filter(alive);
  }
  return left.map((p) => `${p} ${spawnSync('ps', ['-o', 'stat=,args=', '-p', String(p)], { encoding: 'utf8' }).stdout.trim()}`);
}

async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    return r.status === 200;
  } catch {
    return false;
  }
}

function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  return lines[lines.length - 1];
}

describe('npm run demo', () => {
  it('rejects a bad option with a message naming it and exit status 2', async () => {
    const run = runDemo(['--records', 'many']);
    expect(await run.exited).toBe(2);
    expect(run.err()).toMatch(/--records: must be an integer from 1 to 200000, got "many"/);
  });

  it('--convert: shows the plan of a sample table of the user\'s kind and converts it online, row oracle at zero, nothing left running', async () => {
    const run = runDemo(['--convert', '--json', '--rate', '60']);
    try {
      expect(await run.exited, run.err()).toBe(0);
      expect(run.out()).toMatch(/CREATE TABLE "demo"\."orders_partitioned"/); // the plan's statements
      expect(run.out()).toMatch(/plan OK: the run can start/);
      expect(run.out()).toMatch(/demo\.orders is now partitioned; demo\.open_orders reads \d+ rows/);
      expect(run.out()).toMatch(/row oracle PASS: checked \d+ rows: 0 missing, 0 stale, 0 resurrected, 0 extra/);
      expect(run.out()).toMatch(/Temporal Web UI served the run: GET \S+ → 200 \(WORKFLOW_EXECUTION_STATUS_COMPLETED\)/);
      const summary = JSON.parse(lastLine(run.out())) as { status: string; workflowId: string; oracle: Record<string, number> };
      expect(summary).toMatchObject({ status: 'completed', oracle: { missing: 0, stale: 0, resurrected: 0, extra: 0 } });
      expect(summary.workflowId).toMatch(/^convert-demo-/);
      expect(await survivors(run.descendants)).toEqual([]);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it('runs a cutover to completion with the oracle at zero; --keep leaves it up until Ctrl-C; --json ends with the summary object', async () => {
    const run = runDemo(['--json', '--keep', '--records', '1200', '--months', '4', '--window', '0.2']);
    try {
      const uiLine = await run.line(/^Temporal Web UI: http:\/\/\S+ +\(answers HTTP 200\)/, 120_000);
      const uiUrl = /http:\/\/\S+/.exec(uiLine)![0];
      await run.line(/^Ctrl-C stops everything\./, 180_000);
      expect(run.out()).toMatch(/oracle PASS: checked \d+ records: 0 missing, 0 stale, 0 resurrected/);
      expect(run.out()).toMatch(/Temporal Web UI served the run: GET \S+ → 200 \(WORKFLOW_EXECUTION_STATUS_COMPLETED\)/);
      expect(run.out()).toMatch(/# Audit: productionCutover/);
      expect(run.out()).toMatch(/\| final cutover \|/);
      // --keep: still serving.
      expect(await answers(uiUrl)).toBe(true);

      run.child.kill('SIGINT');
      expect(await run.exited).toBe(0);
      const summary = JSON.parse(lastLine(run.out())) as Record<string, unknown>;
      expect(Object.keys(summary).sort()).toEqual(['oracle', 'status', 'uiUrl', 'workflowId']);
      expect(summary).toMatchObject({ status: 'completed', uiUrl });
      expect(summary.workflowId).toMatch(/^cutover-demo-/);
      const oracle = summary.oracle as Record<string, number>;
      expect(Object.keys(oracle).sort()).toEqual(['checked', 'extra', 'missing', 'resurrected', 'stale']);
      expect(oracle).toMatchObject({ missing: 0, stale: 0, resurrected: 0 });
      expect(oracle.checked).toBeGreaterThan(1200);

      // Everything it started is gone.
      expect(await answers(uiUrl)).toBe(false);
      expect(await survivors(run.descendants)).toEqual([]);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it('stops everything on Ctrl-C in the middle of the run and exits 130', async () => {
    const run = runDemo(['--json', '--records', '600', '--months', '3', '--window', '1']);
    try {
      const uiLine = await run.line(/^Temporal Web UI: http:\/\/\S+/, 120_000);
      const uiUrl = /http:\/\/\S+/.exec(uiLine)![0];
      await run.line(/started productionCutover/, 120_000);
      await run.line(/monitoring/, 60_000);
      run.child.kill('SIGINT');
      expect(await run.exited).toBe(130);
      expect(JSON.parse(lastLine(run.out()))).toMatchObject({ status: 'interrupted', uiUrl, oracle: null });
      expect(run.err()).toMatch(/stopped\./);
      expect(await answers(uiUrl)).toBe(false);
      expect(await survivors(run.descendants)).toEqual([]);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });
});
