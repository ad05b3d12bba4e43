import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../command';
import { NotFoundError } from '../exit-codes';

/** The maintenance Schedule's own module (owned by the maintenance workflow). */
export const SCHEDULE_MODULE = path.resolve(__dirname, '../../maintenance/schedule.ts');

type ScheduleCli = (argv: string[], io?: { out(t: string): void; err(t: string): void }) => Promise<number>;

/** `cutover schedule …`: delegates to src/maintenance/schedule.ts's `main(argv)`. */
export const schedule: Command = {
  name: 'schedule',
  summary: 'create, update, show or delete the partition-maintenance Schedule',
  usage: 'usage: cutover schedule [ARGS…]\n\nDelegates to src/maintenance/schedule.ts; `cutover schedule --help` shows its arguments.',
  options: {},
  passthrough: true,
  async run({ io, rawArgv }) {
    if (!fs.existsSync(SCHEDULE_MODULE)) {
      throw new NotFoundError(`schedule: ${path.relative(process.cwd(), SCHEDULE_MODULE)} is not installed in this checkout; start maintenance runs with "cutover start maintenance" meanwhile`);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(SCHEDULE_MODULE) as { main?: ScheduleCli };
    if (typeof mod.main !== 'function') throw new NotFoundError(`schedule: ${SCHEDULE_MODULE} exports no main(argv)`);
    return mod.main(io.json && !rawArgv.includes('--json') ? [...rawArgv, '--json'] : rawArgv, { out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`), err: (t) => io.warn(t) });
  },
};
