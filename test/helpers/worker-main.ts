import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';
import { projectRoot } from '../../src/devenv/paths';

export interface WorkerMain {
  child: ChildProcess;
  /** Everything the worker wrote (JSON log lines on stderr). */
  output(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after 30 s). Returns the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `npm run worker` (src/worker/main.ts) as its own process against the run's Temporal
 * dev server, with `env` on top of a minimal environment, and waits for "worker started" (it
 * bundles the workflows first: some seconds). `opts.command` runs another worker command
 * instead (e.g. an installed package's `cutover-worker`), in `opts.cwd`.
 */
export async function startWorkerMain(env: Record<string, string>, opts: { command?: string; cwd?: string } = {}): Promise<WorkerMain> {
  const [cmd, args] = opts.command ? [opts.command, []] : [path.join(projectRoot, 'node_modules/.bin/tsx'), [path.join(projectRoot, 'src/worker/main.ts')]];
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? projectRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml',
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      LICHEN_LOG_LEVEL: 'WARN',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 90_000;
  while (!out.includes('"worker started"')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the worker did not start: ${out.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      try {
        return await exited;
      } finally {
        clearTimeout(t);
      }
    },
  };
}
