import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';
import { projectRoot } from '../../src/devenv/paths';

export interface WorkerProcess {
  child: ChildProcess;
  kill(): Promise<void>;
}

/** Starts test/helpers/worker-child.ts as a separate process and waits until it polls. */
export async function spawnWorker(opts: { taskQueue: string; dbUrl: string; adminToken: string }): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test/helpers/worker-child.ts')], {
    cwd: projectRoot,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      TASK_QUEUE: opts.taskQueue,
      TEST_DB_URL: opts.dbUrl,
      TEST_ADMIN_TOKEN: opts.adminToken,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`worker child did not start in 60 s: ${stderr.slice(-500)}`)), 60_000);
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('worker-ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`worker child exited with ${code}: ${stderr.slice(-500)}`));
    });
  });
  return {
    child,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    },
  };
}
