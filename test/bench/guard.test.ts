import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { checkSizes, inProcessRowBudget, sizedRows } from '../../bench/guard';
import { parseBenchArgs } from '../../bench/options';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('bench sizing and clean-up (bench/guard.ts)', () => {
  it('refuses up front a --rows the in-process stores of B1/B3 cannot hold, saying why and what is allowed', () => {
    const budget = 1_000_000;
    expect(() => checkSizes(parseBenchArgs(['--rows', '1000001', '--only', 'B1']), budget)).toThrow(/--rows 1000001 is too large for B1: .*--rows ≤ 1000000.*--only.*max-old-space-size/);
    expect(() => checkSizes(parseBenchArgs(['--rows', '1000000']), budget)).not.toThrow();
    // B6 and B7 alone never refuse: their sizes are capped to the budget instead.
    expect(() => checkSizes(parseBenchArgs(['--rows', '10000000', '--only', 'B6,B7']), budget)).not.toThrow();
    expect(sizedRows('B6', 1_000_000, budget)).toEqual({ rows: 1_000_000, capped: true });
    expect(sizedRows('B7', 400_000, budget)).toEqual({ rows: 800_000, capped: false });
    // The heap of this process is the measure: 4 GiB of V8 heap holds well over a million records.
    expect(inProcessRowBudget(4 * 2 ** 30)).toBeGreaterThan(1_500_000);
    expect(inProcessRowBudget(512 * 2 ** 20)).toBeLessThan(250_000);
  });

  it('stops the embedded Postgres and removes its data when the bench dies without running a handler (SIGKILL)', async () => {
    // A stand-in postmaster: a process whose pid sits in <dataDir>/data/postmaster.pid.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-guard-'));
    fs.mkdirSync(path.join(dataDir, 'data'));
    const postmaster = spawn('sleep', ['300'], { stdio: 'ignore' });
    fs.writeFileSync(path.join(dataDir, 'data', 'postmaster.pid'), `${postmaster.pid}\n${dataDir}\n`);
    const temporal = spawn('sleep', ['300'], { stdio: 'ignore' });
    const code = `const { guardServers } = require(${JSON.stringify(path.resolve('bench/guard.ts'))});
      const g = guardServers({ dataDir: ${JSON.stringify(dataDir)}, cleanup: async () => undefined });
      g.add(${temporal.pid}); console.log('ready'); setInterval(() => undefined, 1000);`;
    const bench = spawn(process.execPath, ['--import', 'tsx', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => bench.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    const exited = (p: ReturnType<typeof spawn>) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));
    bench.kill('SIGKILL');
    await Promise.race([Promise.all([exited(postmaster), exited(temporal)]), new Promise((r) => setTimeout(r, 15_000))]);
    for (let i = 0; i < 100 && fs.existsSync(dataDir); i++) await new Promise((r) => setTimeout(r, 100));
    const leftovers = { postmaster: alive(postmaster.pid!), temporal: alive(temporal.pid!), dataDir: fs.existsSync(dataDir) };
    postmaster.kill('SIGKILL');
    temporal.kill('SIGKILL');
    expect(postmaster.signalCode).toBe('SIGINT'); // fast shutdown, as the bench's own stop
    expect(leftovers).toEqual({ postmaster: false, temporal: false, dataDir: false });
  });
});
