import { spawn } from 'node:child_process';
import path from 'node:path';
import type { RunningPostgres } from '../src/devenv/postgres';
import { projectRoot } from '../src/devenv/paths';
import { benchDatabase } from './env';
import { phase2Apps } from './apps';
import { instanceRefs } from './b1-backfill';

export interface RssAtSize {
  rows: number;
  peakRssMB: number;
  startRssMB: number;
}

const MB = 2 ** 20;

/** Runs bench/b6-child.ts (a separate Node process, like a worker) and returns its report. */
function runChild(env: Record<string, string>): Promise<{ rows: number; startRss: number; sampledPeakRss: number; vmHwm: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/b6-child.ts')], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`B6 child exited with ${code}: ${err.slice(-2000)}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch {
        reject(new Error(`B6 child printed no report: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}

/** B6 at one size: 2 app instances holding `rows` records (this process), the worker in a child. */
export async function rssAtSize(pg: RunningPostgres, rows: number, lanes = 2): Promise<RssAtSize> {
  const db = await benchDatabase(pg, 'partitioned', 'b6');
  const apps = await phase2Apps(db.url, 2, rows, 6);
  try {
    const r = await runChild({ BENCH_B6: JSON.stringify({ dbUrl: db.url, adminToken: apps.adminToken, instances: instanceRefs(apps), lanes }) });
    if (r.rows !== rows) throw new Error(`B6: the child back-filled ${r.rows} rows, expected ${rows}`);
    const peak = Math.max(r.vmHwm ?? 0, r.sampledPeakRss);
    return { rows, peakRssMB: Math.round((peak / MB) * 10) / 10, startRssMB: Math.round((r.startRss / MB) * 10) / 10 };
  } finally {
    await apps.stopAll();
    await db.drop();
  }
}
