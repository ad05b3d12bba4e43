import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/devenv/paths';
import { envWithout, runCommand } from './helpers';

/**
 * Where issue 16 broke: as root, a clone inside a directory only its owner may enter (what
 * `mktemp -d` gives, and root's home on Debian). The embedded server runs as the `postgres`
 * user, who cannot traverse that directory — so it must run from a copy of the binaries, with
 * its data and socket, outside the clone. The committed HEAD is cloned into a fresh 0700
 * directory; node_modules is hard-linked from this checkout (an `npm ci` there is what
 * .ci/run does, with the demo); then the harness's server is started from the clone and one
 * query runs. Only as root (otherwise the server runs as the current user, and there is nothing
 * to cross).
 */
const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stderr.write('[private-clone.test] SKIPPED: not root, the server runs as the current user\n');

describe.skipIf(!isRoot)('a clone inside a private (0700) directory, as root', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-clone-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('starts the embedded PostgreSQL from the clone and runs a query as the postgres user, from binaries and data outside the clone', async () => {
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const clone = path.join(dir, 'c');
    const cloned = await runCommand('git', ['clone', '--quiet', '--no-hardlinks', projectRoot, clone], { cwd: dir, timeoutMs: 60_000 });
    expect(cloned.code, cloned.stderr).toBe(0);
    let linked = await runCommand('cp', ['-al', path.join(projectRoot, 'node_modules'), path.join(clone, 'node_modules')], { cwd: dir, timeoutMs: 60_000 });
    if (linked.code !== 0) linked = await runCommand('cp', ['-a', path.join(projectRoot, 'node_modules'), path.join(clone, 'node_modules')], { cwd: dir, timeoutMs: 120_000 });
    expect(linked.code, linked.stderr).toBe(0);

    const r = await runCommand(path.join(clone, 'node_modules/.bin/tsx'), ['scripts/pg-smoke.ts'], { cwd: clone, env: envWithout('DATABASE_URL', 'LICHEN_PG_BINARIES'), timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { user: string; one: number; osUid: number; binaries: string; dataDir: string };
    const postgresUid = Number((await runCommand('id', ['-u', 'postgres'], { cwd: dir, timeoutMs: 10_000 })).stdout.trim());
    expect(out.one).toBe(1);
    expect(out.user).toBe('postgres');
    expect(out.osUid).toBe(postgresUid);
    expect(out.binaries.startsWith(dir)).toBe(false);
    expect(out.dataDir.startsWith(dir)).toBe(false);
    // Nothing was loosened on the user's own directory.
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  });
});
