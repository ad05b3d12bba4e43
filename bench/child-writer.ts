import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../src/devenv/paths';
import type { WriteSample } from './writer';

/** bench/writer-child.ts from the bench's side: start it, later stop it and take its samples (epoch ms). */
export class ChildWriter {
  private child?: ChildProcessWithoutNullStreams;
  private out = '';
  private err = '';
  private exited?: Promise<number | null>;

  constructor(private readonly url: string, private readonly rate: number) {}

  /** Resolves once the child writes. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/writer-child.ts')], {
      cwd: projectRoot,
      env: { ...process.env, BENCH_WRITER: JSON.stringify({ url: this.url, rate: this.rate }) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stderr.on('data', (d: Buffer) => (this.err += d.toString()));
    // 'close': the process ended and its stdout is read to the end ('exit' may come before the last data).
    this.exited = new Promise((resolve) => child.once('close', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        this.out += d.toString();
        if (this.out.startsWith('ready\n')) resolve();
      });
      child.once('error', reject);
      void this.exited!.then((code) => reject(new Error(`the writer process exited (${code}) before writing: ${this.err.slice(-1000)}`)));
    });
  }

  /** Stops the writer; its samples, times in epoch ms. */
  async stop(): Promise<WriteSample[]> {
    if (!this.child) return [];
    this.child.stdin.write('stop\n');
    const code = await this.exited;
    this.child = undefined;
    if (code !== 0) throw new Error(`the writer process exited with ${code}: ${this.err.slice(-1000)}`);
    return JSON.parse(this.out.slice('ready\n'.length).trim()) as WriteSample[];
  }

  /** Ends the child without its samples (cleanup after a failure). */
  kill(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }
}
