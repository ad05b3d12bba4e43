import path from 'node:path';
import fs from 'node:fs';

/** The project root (the folder holding package.json), wherever this file is compiled to. */
export const projectRoot: string = (() => {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'migrations'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
})();

/** Project-local cache for downloaded tools (git-ignored). `LICHEN_CACHE_DIR` overrides it. */
export const cacheDir: string = process.env.LICHEN_CACHE_DIR ?? path.join(projectRoot, '.cache');

export const migrationsDir: string = path.join(projectRoot, 'migrations');
