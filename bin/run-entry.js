// Runs one of the package's entry points: dist/<entry>.js with plain node when `npm run build`
// produced it, else <entry>.ts through tsx (development, a clone without dist/). Node resolves the
// npm .bin symlink, so __dirname is this package's bin/ wherever it is installed.
//
// In a clone (the entry's .ts source sits beside dist/), a dist/ older than any source is never run
// silently: the sources run through tsx instead, with one line on stderr saying which file is newer
// (`npm run build` refreshes dist/). The installed package ships no .ts sources: it always runs dist/.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** The compiled directories (tsconfig.build.json "include"). */
const SOURCE_DIRS = ['src', 'workflows', 'activities'];

module.exports = function runEntry(entry) {
  const root = path.resolve(__dirname, '..');
  const built = path.join(root, 'dist', `${entry}.js`);
  const source = path.join(root, `${entry}.ts`);
  const tsx = resolveTsx(root);
  if (fs.existsSync(built)) {
    const newer = fs.existsSync(source) ? newerSource(root) : undefined;
    if (!newer) {
      start(require(built));
      return;
    }
    if (!tsx) {
      process.stderr.write(`${entry}: dist/ is older than ${newer} and tsx is not installed: running the stale dist/ (run \`npm run build\`)\n`);
      start(require(built));
      return;
    }
    process.stderr.write(`${entry}: dist/ is older than ${newer}: running the sources through tsx (run \`npm run build\` to refresh dist/, or delete it)\n`);
  }
  if (!tsx) {
    process.stderr.write(`${entry}: neither ${built} (run \`npm run build\`) nor tsx (run \`npm ci\` in the clone) is available\n`);
    process.exit(70);
  }
  require(tsx);
  start(require(source));
};

function resolveTsx(root) {
  try {
    return require.resolve('tsx/cjs', { paths: [root] });
  } catch {
    return undefined;
  }
}

/** The first source file (relative path) modified after dist/ was built, or undefined. */
function newerSource(root) {
  const stamp = path.join(root, 'dist', 'build-info.json');
  let builtAt;
  try {
    builtAt = fs.statSync(stamp).mtimeMs;
  } catch {
    return 'the sources (dist/build-info.json is missing: an interrupted build)';
  }
  const files = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];
  for (const f of files) if (mtime(path.join(root, f)) > builtAt) return f;
  const stack = SOURCE_DIRS.map((d) => path.join(root, d));
  while (stack.length > 0) {
    const dir = stack.pop();
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (/\.(ts|js|json)$/.test(e.name) && mtime(p) > builtAt) return path.relative(root, p);
    }
  }
  return undefined;
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

// An entry that exports run() (the CLI) starts when called; one without (the worker) on load.
function start(mod) {
  if (mod && typeof mod.run === 'function') mod.run();
}
