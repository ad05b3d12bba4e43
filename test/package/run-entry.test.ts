import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/devenv/paths';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/**
 * A package root laid out like a clone (or, without `src`, like the installed package) whose
 * dist/src/cli/main.js and src/cli/main.ts each print where they run from; `bin/cutover` is the
 * project's own, with tsx from the project's node_modules.
 */
function fakeRoot(opts: { src: boolean }): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-entry-'));
  dirs.push(root);
  fs.mkdirSync(path.join(root, 'bin'));
  for (const f of ['cutover', 'run-entry.js']) fs.copyFileSync(path.join(projectRoot, 'bin', f), path.join(root, 'bin', f));
  fs.writeFileSync(path.join(root, 'package.json'), '{"name":"fake","version":"0.0.0"}\n');
  fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(root, 'node_modules'));
  fs.mkdirSync(path.join(root, 'dist', 'src', 'cli'), { recursive: true });
  fs.writeFileSync(path.join(root, 'dist', 'src', 'cli', 'main.js'), "exports.run = () => console.log('ran dist');\n");
  if (opts.src) {
    fs.mkdirSync(path.join(root, 'src', 'cli'), { recursive: true });
    fs.writeFileSync(path.join(root, 'src', 'cli', 'main.ts'), "export function run(): void { console.log('ran source'); }\n");
  }
  fs.writeFileSync(path.join(root, 'dist', 'build-info.json'), '{}\n');
  return root;
}

/** Sets a file's modification time to `at` (seconds since the epoch). */
const touch = (file: string, at: number) => fs.utimesSync(file, at, at);

describe('bin/cutover in a clone never runs a stale dist/ silently', () => {
  it('runs dist/ when it is newer than every source, the sources through tsx (saying why on stderr) once a source changed after the build, and dist/ always in an installed package (no sources)', async () => {
    const clone = fakeRoot({ src: true });
    for (const f of ['package.json', 'src/cli/main.ts']) touch(path.join(clone, f), 1_000_000);
    touch(path.join(clone, 'dist/build-info.json'), 2_000_000);
    const fresh = await run(process.execPath, [path.join(clone, 'bin', 'cutover')], { cwd: clone });
    expect(fresh.stdout.trim()).toBe('ran dist');
    expect(fresh.stderr).toBe('');

    touch(path.join(clone, 'src/cli/main.ts'), 3_000_000); // edited after `npm run build`
    const stale = await run(process.execPath, [path.join(clone, 'bin', 'cutover')], { cwd: clone });
    expect(stale.stdout.trim()).toBe('ran source');
    expect(stale.stderr).toContain(`dist/ is older than ${path.join('src', 'cli', 'main.ts')}`);
    expect(stale.stderr).toContain('npm run build');

    const installed = fakeRoot({ src: false });
    touch(path.join(installed, 'package.json'), 1_000_000);
    touch(path.join(installed, 'dist/build-info.json'), 2_000_000);
    const pkg = await run(process.execPath, [path.join(installed, 'bin', 'cutover')], { cwd: installed });
    expect(pkg.stdout.trim()).toBe('ran dist');
    expect(pkg.stderr).toBe('');
  }, 120_000);
});
