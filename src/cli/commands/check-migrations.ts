import { main as checkMain } from '../../migrations/check-cli';
import type { Command } from '../command';

/** `cutover check-migrations [DIR]`: the migration CI gates (src/migrations/check-cli.ts). */
export const checkMigrations: Command = {
  name: 'check-migrations',
  summary: 'run the migration CI gates over a folder of .sql files',
  usage: 'usage: cutover check-migrations [--json] [DIR]\n\nExit status: 0 no findings, 1 findings, 2 usage error.',
  options: {},
  passthrough: true,
  async run({ io, rawArgv }) {
    const argv = io.json && !rawArgv.includes('--json') ? [...rawArgv, '--json'] : rawArgv;
    return checkMain(argv, { out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`), err: (t) => io.warn(t) });
  },
};
