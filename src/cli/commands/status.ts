import { positionals } from '../args';
import type { Command } from '../command';
import { snapshot, verdictOf, type RunSnapshot } from '../snapshot';
import { formatProgress } from '../render';

export function describeSnapshot(s: RunSnapshot): string {
  const lines = [`${s.workflowId} (${s.workflowType}) — ${s.execution.toLowerCase()}${s.closeTime ? ` at ${s.closeTime}` : ''}`];
  if (s.status) {
    const st = s.status;
    lines.push(`phase: ${st.phase} (${st.state})`);
    if (st.progress) lines.push(`progress: ${formatProgress(st.progress, { percent: true })}`);
    if (st.waitingOn) lines.push(`waiting for: ${st.waitingOn}`);
    if (st.upcomingGates?.length) lines.push(`upcoming gates (approvable ahead): ${st.upcomingGates.join(', ')}`);
    for (const c of st.gateConditions ?? []) lines.push(`gate ${c.gate}: ${c.why}; its approval must name it (${c.mustName.join(' or ')})`);
    if (st.lastHealth) lines.push(`last health: ${String(st.lastHealth.verdict)}${Array.isArray(st.lastHealth.reasons) && st.lastHealth.reasons.length ? ` — ${st.lastHealth.reasons.join('; ')}` : ''}`);
    for (const r of st.rollbacks) lines.push(`rollback: ${r.branch} — ${r.cause}`);
    for (const d of st.decisions.slice(-5)) lines.push(`decision: ${d.action} by ${d.operator} at ${d.at} — ${d.reason}`);
  }
  if (s.result) {
    lines.push(`outcome: ${verdictOf(s).outcome}`);
    for (const r of (s.result.rollbacks as { branch: string; cause: string }[] | undefined) ?? []) lines.push(`rollback: ${r.branch} — ${r.cause}`);
  }
  if (s.failure) lines.push(`failure: ${s.failure}`);
  return lines.join('\n');
}

export const status: Command = {
  name: 'status',
  summary: "a run's phase, progress, gates, decisions and rollbacks",
  usage: 'usage: cutover status <workflowId> [--json]\n\nExit status: 0 running or completed as intended, 1 failed, rolled back or aborted, 3 not found.',
  options: {},
  async run({ io, args, client }) {
    const [id] = positionals('status', args, ['workflowId']);
    const s = await snapshot(await client(), id);
    io.result(s, describeSnapshot(s));
    return verdictOf(s).ok ? 0 : 1;
  },
};
