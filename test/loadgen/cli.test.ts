import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration, parseLoadgenArgs } from '../../src/loadgen/cli-args';
import { OpLog } from '../../src/loadgen/oplog';
import { projectRoot } from '../../src/devenv/paths';
import { startApps, type RunningApps } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';

const db = useTestDatabase('partitioned');
let apps: RunningApps;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loadgen-cli-'));

beforeAll(async () => {
  apps = await startApps(2, {
    dbUrl: db.url,
    target: 'loadgen-cli',
    table: 'memory_records',
    bootMode: { persistence: 'dual-write', primary: 'memory', failFast: true, dualWriteEnabled: true },
  });
});
afterAll(async () => {
  await apps?.stopAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/loadgen/cli.ts'), ...args], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('npm run loadgen', () => {
  it('runs the load, saves the log and judges both stores of a dual-write fleet', async () => {
    const logPath = path.join(tmp, 'log.json');
    const urls = apps.instances.map((i) => i.url).join(',');
    const r = await runCli(
      ['--url', urls, '--rate', '150', '--duration', '2s', '--owners', '12', '--seed-records', '60', '--seed-months', '3', '--log', logPath, '--check-postgres', db.url, '--check-instances'],
      { LICHEN_ADMIN_TOKEN: apps.adminToken },
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^seeded 60 records over 3 months/m);
    expect(r.out).toMatch(/^t=\d+\.\ds sent \d+/m); // a live stats line
    expect(r.out).toMatch(/^final: .* failed 0 /m);
    expect(r.out).toMatch(/^postgres memory_records \(a postgres:\/\/ URL\): oracle PASS: .* 0 missing, 0 stale, 0 resurrected, 0 extra/m);
    expect(r.out).toMatch(/^instances: oracle PASS: .* 0 missing, 0 stale, 0 resurrected, 0 extra/m);
    const saved = OpLog.fromJSON(JSON.parse(fs.readFileSync(logPath, 'utf8')));
    expect(saved.size).toBeGreaterThan(60);
    expect(saved.acked.update + saved.acked.delete).toBeGreaterThan(0);
    expect(r.out).not.toContain(apps.adminToken);
  });

  it('exits 1 when the judged store lost acknowledged records', async () => {
    // Memory-mode instances write nothing to Postgres: judging Postgres must fail.
    const memoryOnly = await startApps(1, { dbUrl: db.url, target: 'loadgen-cli-memory', table: 'memory_records' });
    try {
      const r = await runCli(['--url', memoryOnly.instances[0].url, '--rate', '50', '--duration', '1s', '--check-postgres', db.url]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/oracle FAIL: checked \d+ records: [1-9]\d* missing/);
    } finally {
      await memoryOnly.stopAll();
    }
  });

  it('rejects bad usage with exit 2, naming the flag', async () => {
    const r = await runCli(['--url', 'http://127.0.0.1:1', '--rate', 'fast']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--rate: expected a number/);
    const t = await runCli(['--url', 'http://127.0.0.1:1', '--check-instances', '--duration', '1s'], { LICHEN_ADMIN_TOKEN: '' });
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/LICHEN_ADMIN_TOKEN/);
  });

  it('parses durations, mixes and URL lists', () => {
    expect(parseDuration('--duration', '30s')).toBe(30_000);
    expect(parseDuration('--duration', '250ms')).toBe(250);
    expect(parseDuration('--duration', '2m')).toBe(120_000);
    expect(parseDuration('--duration', '3')).toBe(3000);
    expect(() => parseDuration('--duration', '3 weeks')).toThrow(/--duration/);
    const o = parseLoadgenArgs(['--url', 'http://a:1/, http://b:2', '--mix', '1,0,0', '--owners', '5']);
    expect(o.urls).toEqual(['http://a:1', 'http://b:2']);
    expect(o.mix).toEqual({ create: 1, update: 0, delete: 0 });
    expect(o.owners).toBe(5);
    expect(() => parseLoadgenArgs(['--url', 'http://a:1', '--mix', '1,2'])).toThrow(/--mix/);
    expect(() => parseLoadgenArgs(['--url', 'http://a:1', '--bogus'])).toThrow(/bogus/);
  });
});
