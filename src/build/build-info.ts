import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../devenv/paths';

/**
 * What was built: the package version and the git commit. `npm run build` writes it to
 * dist/build-info.json (scripts/build.ts); a worker running from dist reads it from there, one
 * running from source asks git. The worker's Worker Deployment build id comes from it
 * (src/worker/versioning.ts).
 */
export interface BuildInfo {
  version: string;
  /** Short commit hash; "unknown" outside a git checkout. "-dirty" when the tree had changes. */
  commit: string;
  /** Where it came from. */
  source: 'dist/build-info.json' | 'source';
  /** The first 12 hex digits of the prebuilt workflow bundle's sha256 (dist only). */
  bundleSha?: string;
}

/**
 * The default Worker Deployment build id: `<version>-<commit>` for a clean commit; with the
 * bundle's hash appended when the commit cannot name the code alone (a dirty tree, or no git:
 * an image built without LICHEN_BUILD_COMMIT), so two different builds never share an id.
 */
export function defaultBuildId(b: BuildInfo): string {
  const ambiguous = b.commit === 'unknown' || b.commit.endsWith('-dirty');
  return ambiguous && b.bundleSha ? `${b.version}-${b.commit}-${b.bundleSha}` : `${b.version}-${b.commit}`;
}

/** dist/build-info.json, next to the compiled tree (dist/src/build/ → dist/). */
export const BUILD_INFO_FILE = path.resolve(__dirname, '..', '..', 'build-info.json');

export function gitCommit(cwd: string = projectRoot): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

export function readBuildInfo(file: string = BUILD_INFO_FILE): BuildInfo {
  if (fs.existsSync(file)) {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string; commit: string; workflowBundleSha256?: string };
    return { version: j.version, commit: j.commit, source: 'dist/build-info.json', ...(j.workflowBundleSha256 ? { bundleSha: j.workflowBundleSha256.slice(0, 12) } : {}) };
  }
  return { version: packageVersion(), commit: gitCommit(), source: 'source' };
}
