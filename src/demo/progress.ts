import type { WorkflowHandle } from '@temporalio/client';
import { statusQuery } from '../../workflows/messages';
import type { RunStatus } from '../../workflows/types';
import { formatDuration, renderScreen } from '../cli/render';
import type { LoadHandle } from '../loadgen/generator';

export interface ProgressOptions {
  handle: WorkflowHandle;
  load?: LoadHandle;
  /** Redraw one screen (a terminal) or print one line per change (logs, pipes). */
  tty: boolean;
  write: (text: string) => void;
  intervalMs?: number;
}

/** phase, state, %, rows/s and ETA in one line; the same line twice means nothing changed. */
export function progressLine(st: RunStatus): string {
  const parts = [st.phase.padEnd(34), st.state];
  const p = st.progress;
  if (p) {
    const pct = p.total > 0 ? Math.min(100, Math.floor((100 * p.done) / p.total)) : 0;
    parts.push(`${String(pct).padStart(3)}%`, `${p.done}/${p.total} ${p.unit}`);
    if (p.ratePerSec !== undefined) parts.push(`${Math.round(p.ratePerSec)} ${p.unit}/s`);
    if (p.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  }
  if (st.lastHealth) parts.push(`health ${String(st.lastHealth.verdict)}`);
  if (st.waitingOn) parts.push(`waiting for ${st.waitingOn}`);
  if (st.rollbacks.length) parts.push(`rollbacks: ${st.rollbacks.map((r) => r.branch).join(', ')}`);
  return parts.join('  ');
}

function loadLine(load: LoadHandle | undefined): string | undefined {
  if (!load) return undefined;
  const s = load.stats();
  return `load: ${s.acked} ops acknowledged, ${s.failed} failed, ${Math.round(s.ratePerSec)} ops/s, p99 ${Math.round(s.p99Ms)} ms`;
}

/**
 * Polls the run's `status` query once a second until stopped. In a terminal it redraws the
 * phase list with a bar for the current phase; otherwise it prints a timestamped line each
 * time phase, state or progress changes. A failed query (the first workflow task not yet
 * processed, a worker restarting) is skipped, not fatal.
 */
export function startProgress(opts: ProgressOptions): { stop(): Promise<void>; last(): RunStatus | undefined } {
  const t0 = Date.now();
  let stopped = false;
  let latest: RunStatus | undefined;
  let lastLine = '';
  let drawn = 0;
  let wake: (() => void) | undefined;

  const draw = (st: RunStatus) => {
    if (opts.tty) {
      const lines = renderScreen(opts.handle.workflowId, st, Date.now());
      const l = loadLine(opts.load);
      if (l) lines.push(`  ${l}`);
      opts.write((drawn ? `\x1b[${drawn}A\x1b[J` : '') + lines.join('\n') + '\n');
      drawn = lines.length;
      return;
    }
    const line = progressLine(st);
    if (line === lastLine) return;
    lastLine = line;
    opts.write(`[${formatDuration((Date.now() - t0) / 1000).padStart(6)}] ${line}\n`);
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        latest = await opts.handle.query(statusQuery);
        draw(latest);
      } catch {
        // not answerable right now; the next poll tries again
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, opts.intervalMs ?? 1000);
        wake = () => (clearTimeout(t), r());
      });
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      if (!opts.tty && opts.load) {
        const l = loadLine(opts.load);
        if (l) opts.write(`${l}\n`);
      }
    },
    last: () => latest,
  };
}
