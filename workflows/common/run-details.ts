import type { RunStatus } from '../types';

/**
 * The Temporal UI's "current details" of a run: Markdown with phase, progress, ETA, what the
 * run waits on, the workflow's own lines (e.g. the last health check), rollbacks and the
 * phases done. Pure: RunController calls it and hands the text to setCurrentDetails.
 */
export function renderDetails(s: RunStatus, openGate: string | undefined, extra: string[]): string {
  const lines = [`**${s.workflowType}** on \`${s.target}\` — phase **${s.phase}** (${s.state})`];
  if (s.progress) {
    const p = s.progress;
    const pct = p.total > 0 ? Math.min(100, Math.floor((p.done / p.total) * 100)) : 0;
    const bar = '█'.repeat(Math.floor(pct / 5)) + '░'.repeat(20 - Math.floor(pct / 5));
    lines.push('', `\`${bar}\` ${pct}% — ${p.done}/${p.total} ${p.unit}` +
      (p.ratePerSec !== undefined ? ` — ${Math.round(p.ratePerSec)} ${p.unit}/s` : '') +
      (p.etaSeconds !== undefined ? ` — ETA ${formatDuration(p.etaSeconds)}` : ''));
  }
  if (s.waitingOn) lines.push('', `⏸ waiting for ${s.waitingOn}`);
  if (openGate && !s.waitingOn) lines.push('', `An approval of gate \`${openGate}\` ends this phase early.`);
  if (s.upcomingGates?.length) lines.push('', `Upcoming gates (approvable ahead of time): ${s.upcomingGates.map((g) => `\`${g}\``).join(', ')}`);
  for (const c of s.gateConditions ?? []) lines.push('', `Gate \`${c.gate}\`: ${c.why}; an approval must name it (${c.mustName.join(' or ')}).`);
  if (extra.length) lines.push('', ...extra);
  if (s.rollbacks.length) lines.push('', `Rollbacks: ${s.rollbacks.map((r) => `${r.branch} (${r.cause})`).join('; ')}`);
  if (s.compensationFailures?.length) {
    lines.push('', `**Rollback incomplete** — do by hand: ${s.compensationFailures.map((f) => `${f.name} (${f.why}): ${f.byHand}`).join('; ')}`);
  }
  const done = s.phases.filter((p) => p.endedAt).map((p) => p.phase);
  if (done.length) lines.push('', `Done: ${done.join(' → ')}`);
  return lines.join('\n');
}

export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
