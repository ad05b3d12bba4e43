import type { AuditReport } from './report';

/** Renders the audit report as markdown: a document an auditor reads top to bottom. */
export function renderMarkdown(r: AuditReport): string {
  const out: string[] = [];
  const cell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const dur = (s?: number) => (s === undefined ? '' : s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s} s`);

  out.push(`# Audit: ${r.workflowType}${r.workflowId ? ` \`${r.workflowId}\`` : ''}`, '');
  out.push(`- **Execution**: ${r.status}${r.outcome ? ` — outcome **${r.outcome}**` : ''}`);
  if (r.finalMode) out.push(`- **Final mode**: ${r.finalMode}`);
  if (r.startedAt) out.push(`- **Started**: ${r.startedAt}${r.closedAt ? ` — **closed**: ${r.closedAt} (${dur(r.durationSeconds)})` : ''}`);
  if (r.taskQueue) out.push(`- **Task queue**: ${r.taskQueue}`);
  // A conversion of any table (input with `table`): copy (the default) or attach.
  const input = r.input as { table?: unknown; mode?: unknown } | undefined;
  if (input && typeof input === 'object' && 'table' in input) out.push(`- **Conversion mode**: ${input.mode === 'attach' ? 'attach (the heap became the history partition; no row copied)' : 'copy'}`);
  if (r.failure) out.push(`- **Failure**: ${r.failure}`);
  for (const n of r.notes) out.push(`- ${n}`);
  out.push('');

  if (r.swaps?.length) {
    out.push('## Swaps (ACCESS EXCLUSIVE held)', '');
    out.push('| at | activity | direction | lock held | tries |', '|---|---|---|---|---|');
    for (const w of r.swaps) out.push(`| ${cell(w.at)} | ${cell(w.activity)} | ${w.direction} | ${w.lockMs} ms | ${cell(w.tries)} |`);
    out.push('');
  }

  out.push('## Rollbacks', '');
  if (r.rollbacks.length === 0) out.push('None.', '');
  else {
    out.push('| at | branch | cause | ended in mode |', '|---|---|---|---|');
    for (const b of r.rollbacks) out.push(`| ${cell(b.at)} | **${cell(b.branch)}** | ${cell(b.cause)} | ${cell(b.endedInMode)} |`);
    out.push('');
  }

  if (r.keptTables.length) {
    out.push('## Tables kept aside by a rollback', '', 'Not dropped: each held rows the table in use lacked. Drop one only after looking at it.', '');
    out.push('| at | table | rows only there | compared with | to drop it |', '|---|---|---|---|---|');
    for (const k of r.keptTables) out.push(`| ${cell(k.at)} | ${cell(k.table)} | ${k.rowsOnlyThere} | ${cell(k.comparedWith)} | \`${cell(k.dropStatement)}\` |`);
    out.push('');
  }

  out.push('## Operator decisions', '');
  if (r.decisions.length === 0) out.push('None.', '');
  else {
    out.push('| at | action | operator | reason | gate / detail | via | accepted |', '|---|---|---|---|---|---|---|');
    for (const d of r.decisions) {
      out.push(`| ${cell(d.at)} | ${cell(d.action)} | ${cell(d.operator)} | ${cell(d.reason)} | ${cell([d.gate, d.detail].filter(Boolean).join('; '))} | ${cell(d.via)}${d.identity ? ` (${cell(d.identity)})` : ''} | ${d.accepted === undefined ? '' : d.accepted ? 'yes' : `no${d.response ? `: ${cell(d.response)}` : ''}`} |`);
    }
    out.push('');
  }

  out.push('## Phases', '');
  if (r.phases.length === 0) out.push('No phase record (the run has no result yet and no status was available).', '');
  else {
    out.push('| phase | started | ended | duration | outcome |', '|---|---|---|---|---|');
    for (const p of r.phases) out.push(`| ${cell(p.phase)} | ${cell(p.startedAt)} | ${cell(p.endedAt)} | ${dur(p.durationSeconds)} | ${cell(p.outcome)} |`);
    out.push('');
  }

  if (r.modeChanges.length) {
    out.push('## Mode changes', '', '| at | mode | reason |', '|---|---|---|');
    for (const m of r.modeChanges) out.push(`| ${cell(m.at)} | ${cell(m.mode)} | ${cell(m.reason)} |`);
    out.push('');
  }

  if (r.backfill) {
    const b = r.backfill as Record<string, unknown>;
    out.push('## Backfill', '', `${b.rows ?? 0} rows read, ${b.written ?? 0} written, ${b.skippedStale ?? 0} stale and ${b.skippedDeleted ?? 0} deleted skipped, ${b.rowsPerSecond ?? 0} rows/s over ${b.seconds ?? 0} s; ${b.resumedChunks ?? 0} chunk(s) resumed from a checkpoint.`, '');
  }

  out.push('## Parity per month', '');
  if (r.parity.length === 0) out.push('No verification ran.', '');
  else {
    out.push('| month | match | memory rows | postgres rows | drift (missing/stale/extra) | repaired | checks |', '|---|---|---|---|---|---|---|');
    for (const p of r.parity) {
      out.push(`| ${p.month} | ${p.match ? 'yes' : '**no**'} | ${p.memory.count} | ${p.postgres.count} | ${p.drift ? `${p.drift.missing}/${p.drift.stale}/${p.drift.extra}` : ''} | ${p.repaired ?? ''} | ${p.checks} |`);
    }
    out.push('');
  }

  out.push('## Health checks', '');
  if (r.healthChecks.length === 0) out.push('None.', '');
  else {
    out.push('| at | verdict | dual-write failures Δ | write p99 (baseline) | sampled parity | reasons |', '|---|---|---|---|---|---|');
    for (const h of r.healthChecks) {
      const p99 = h.p99Ms === null || h.p99Ms === undefined ? 'n/a' : `${Math.round(h.p99Ms)} ms`;
      const base = h.baselineP99Ms === null || h.baselineP99Ms === undefined ? 'n/a' : `${Math.round(h.baselineP99Ms)} ms`;
      out.push(`| ${cell(h.at)} | ${h.verdict} | ${h.failuresDelta ?? ''} | ${p99} (${base}) | ${h.parity ? `${h.parity.checked - h.parity.drift}/${h.parity.checked}` : ''} | ${cell(h.reasons.join('; '))} |`);
    }
    out.push('');
  }

  if (r.quarantined.length) {
    out.push('## Quarantined records (Postgres cannot store them)', '', '| instance | id | created | field | why |', '|---|---|---|---|---|');
    for (const q of r.quarantined) out.push(`| ${q.instanceId} | ${q.id} | ${q.createdAt ?? ''} | ${q.field} | ${q.reason.replace(/\|/g, '\\|')} |`);
    out.push('', 'Each was left out of the back-fill and verify; the operator decision that skipped them is under "Operator decisions" (gate `skip-quarantined`).', '');
  }
  if (r.quarantineRemoved.length) {
    out.push('## Older versions of skipped records removed from Postgres', '', '| instance | id | Postgres version (removed) | quarantined version |', '|---|---|---|---|');
    for (const q of r.quarantineRemoved) out.push(`| ${q.instanceId} | ${q.id} | ${q.updatedAt} | ${q.quarantinedUpdatedAt} |`);
    out.push('', 'Each skipped record had an older, storable version in Postgres; after the skip it was removed and tombstoned, so it is never served in place of the record given up.', '');
  }

  if (r.investigations.length) {
    out.push('## Investigations', '');
    for (const i of r.investigations) {
      out.push(`At ${i.at ?? '?'}:`, '');
      for (const f of i.findings) out.push(`- ${f.ok ? 'ok' : '**finding**'} — ${f.check}: ${f.detail}${f.fix ? ` (fix: \`${f.fix}\`)` : ''}`);
      out.push('');
    }
  }

  out.push('## Activity timeline', '', '| scheduled | activity | attempts | duration | outcome |', '|---|---|---|---|---|');
  for (const a of r.activities) out.push(`| ${cell(a.scheduledAt)} | ${a.activity} | ${a.attempts} | ${dur(a.durationSeconds)} | ${a.outcome}${a.failure ? `: ${cell(a.failure)}` : ''} |`);
  out.push('');
  return out.join('\n');
}
