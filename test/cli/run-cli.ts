import { spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/devenv/paths';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as the one JSON document of --json mode. */
  json<T = Record<string, unknown>>(): T;
}

/**
 * Runs `cutover …` as a child process (`tsx src/cli/main.ts`), the way a script would, with a
 * clean environment: only what the test passes plus PATH/HOME (no DATABASE_URL leaking in).
 */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 40_000, onStdout?: (stdoutSoFar: string) => void): Promise<CliRun> {
  const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx');
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [path.join(projectRoot, 'src/cli/main.ts'), ...args], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout); // a long-running command (watch) read as it goes
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cutover ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`stdout of cutover ${args.join(' ')} is not one JSON document:\n${stdout}\nstderr: ${stderr}`);
          }
        },
      });
    });
  });
}
