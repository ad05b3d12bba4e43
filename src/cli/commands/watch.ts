import { num, positionals } from '../args';
import type { Command } from '../command';
import { renderScreen, statusLine } from '../render';
import { snapshot, verdictOf } from '../snapshot';
import { describeSnapshot } from './status';

export const watch: Command = {
  name: 'watch',
  summary: 'live progress of a run until it ends',
  usage: `usage: cutover watch <workflowId> [--interval SECONDS] [--json]

In a terminal: progress bars per phase, rows/s, ETA and the last health check, redrawn every
second. Otherwise: one line each time something changes. Ends when the run ends.
Exit status: 0 completed as intended, 1 failed, rolled back or aborted, 3 not found.`,
  options: { interval: { type: 'string' } },
  async run({ io, args, client }) {
    const [id] = positionals('watch', args, ['workflowId']);
    const intervalMs = (num('watch', args, 'interval', { min: 0.1, max: 60 }) ?? 1) * 1000;
    const c = await client();
    let last = '';
    let drawn = 0;
    for (;;) {
      const s = await snapshot(c, id);
      const v = verdictOf(s);
      if (s.status) {
        if (io.isTty) {
          const lines = renderScreen(id, s.status, Date.now());
          // Move up over the previous frame and clear it, then draw the new one.
          io.write((drawn ? `\x1b[${drawn}A\x1b[J` : '') + lines.join('\n') + '\n');
          drawn = lines.length;
        } else if (!io.json) {
          const line = statusLine(s.status);
          if (line !== last) io.say(`${new Date().toISOString()} ${line}`);
          last = line;
        }
      }
      if (v.done) {
        io.result({ ...s, outcome: v.outcome }, describeSnapshot(s));
        return v.ok ? 0 : 1;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  },
};
