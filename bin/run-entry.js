// Runs one of the package's entry points: dist/<entry>.js with plain node when `npm run build`
// produced it, else <entry>.ts through tsx (development, a clone without dist/). Node resolves the
// npm .bin symlink, so __dirname is this package's bin/ wherever it is installed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

module.exports = function runEntry(entry) {
  const root = path.resolve(__dirname, '..');
  const built = path.join(root, 'dist', `${entry}.js`);
  if (fs.existsSync(built)) {
    start(require(built));
    return;
  }
  try {
    require.resolve('tsx/cjs', { paths: [root] });
  } catch {
    process.stderr.write(`${entry}: neither ${built} (run \`npm run build\`) nor tsx (run \`npm ci\` in the clone) is available\n`);
    process.exit(70);
  }
  require(require.resolve('tsx/cjs', { paths: [root] }));
  start(require(path.join(root, `${entry}.ts`)));
};

// An entry that exports run() (the CLI) starts when called; one without (the worker) on load.
function start(mod) {
  if (mod && typeof mod.run === 'function') mod.run();
}
