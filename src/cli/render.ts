import type { Progress, RunStatus } from '../../workflows/types';

export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s % 60}s`;
}

export function bar(done: number, total: number, width = 24): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.floor(frac * 100)).padStart(3)}%`;
}

/** `done/total unit`, the percentage (`percent`: where no bar shows it), rate and ETA when the run set them. */
export function formatProgress(p: Progress, o: { percent?: boolean } = {}): string {
  const pct = o.percent ? ` (${p.total > 0 ? Math.min(100, Math.floor((p.done / p.total) * 100)) : 0}%)` : '';
  return `${p.done}/${p.total} ${p.unit}${pct}` +
    (p.ratePerSec !== undefined ? `, ${Math.round(p.ratePerSec)} ${p.unit}/s` : '') +
    (p.etaSeconds !== undefined ? `, ETA ${formatDuration(p.etaSeconds)}` : '');
}

function healthLine(h: Record<string, unknown> | undefined): string | undefined {
  if (!h) return undefined;
  const p99 = typeof h.p99Ms === 'number' ? `${Math.round(h.p99Ms)} ms` : 'n/a';
  const reasons = Array.isArray(h.reasons) && h.reasons.length ? ` — ${h.reasons.join('; ')}` : '';
  return `health: ${String(h.verdict)} (failures +${String(h.failuresDelta ?? 0)}, write p99 ${p99})${reasons}`;
}

/** The watch screen: one line per phase (a bar for the current one), then health and waits. */
export function renderScreen(id: string, st: RunStatus, nowMs: number): string[] {
  const lines = [`${id} — ${st.workflowType} on ${st.target}: ${st.state}`];
  for (const p of st.phases) {
    const end = p.endedAt ? Date.parse(p.endedAt) : nowMs;
    const took = formatDuration((end - Date.parse(p.startedAt)) / 1000);
    if (!p.endedAt && p.phase === st.phase && st.progress) {
      lines.push(`  ▶ ${p.phase.padEnd(36)} ${bar(st.progress.done, st.progress.total)} ${formatProgress(st.progress)}`);
    } else {
      lines.push(`  ${p.endedAt ? (p.outcome === 'ok' ? '✔' : '✖') : '▶'} ${p.phase.padEnd(36)} ${took}${p.outcome && p.outcome !== 'ok' ? ` (${p.outcome})` : ''}`);
    }
  }
  const h = healthLine(st.lastHealth);
  if (h) lines.push(`  ${h}`);
  if (st.waitingOn) lines.push(`  ⏸ waiting for ${st.waitingOn}`);
  for (const r of st.rollbacks) lines.push(`  ↩ rollback ${r.branch}: ${r.cause}`);
  return lines;
}

/** One line for non-TTY output: phase, state, progress and health. */
export function statusLine(st: RunStatus): string {
  const parts = [`phase=${JSON.stringify(st.phase)}`, `state=${st.state}`];
  if (st.progress) parts.push(`progress=${JSON.stringify(formatProgress(st.progress, { percent: true }))}`);
  if (st.lastHealth) parts.push(`health=${String(st.lastHealth.verdict)}`);
  if (st.waitingOn) parts.push(`waiting=${JSON.stringify(st.waitingOn)}`);
  if (st.rollbacks.length) parts.push(`rollbacks=${st.rollbacks.map((r) => r.branch).join(',')}`);
  return parts.join(' ');
}
