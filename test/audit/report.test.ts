import { describe, expect, it } from 'vitest';
import { buildAuditReport, renderJson, renderMarkdown } from '../../src/audit/report';
import { loadHistoryFixture } from './fixtures';

describe('audit report from a workflow history', () => {
  it('names the rollback, its cause and the operator decisions of an aborted run', () => {
    const f = loadHistoryFixture('operator-abort');
    const r = buildAuditReport(f.history, { workflowId: f.workflowId });
    expect(r.workflowType).toBe('productionCutover');
    expect(r.status).toBe('completed');
    expect(r.outcome).toBe('aborted');
    expect(r.rollbacks).toHaveLength(1);
    expect(r.rollbacks[0]).toMatchObject({ branch: 'operator-abort', cause: 'aborted by bob: change freeze announced, abort the cutover' });
    expect(r.decisions.map((d) => [d.action, d.operator, d.reason, d.accepted])).toEqual([
      ['extend', 'bob', 'a batch job runs tonight, watch it too', true],
      ['abort', 'bob', 'change freeze announced, abort the cutover', true],
    ]);
    expect(r.decisions[0].detail).toBe('+30 min');
    expect(r.decisions.every((d) => d.at && d.via === 'update')).toBe(true);
    // The compensation walked the modes back to the starting one.
    expect(r.finalMode).toBe('memory only');
    expect(r.modeChanges.map((m) => m.mode)).toEqual(['dual-write, memory primary', 'dual-write, postgres primary', 'dual-write, memory primary', 'memory only']);
    expect(r.healthChecks.length).toBeGreaterThan(0);
    expect(r.healthChecks.every((h) => h.verdict === 'healthy')).toBe(true);
    expect(r.phases.find((p) => p.phase === 'monitoring')?.outcome).toBe('aborted');

    const md = renderMarkdown(r);
    expect(md).toContain('operator-abort');
    expect(md).toContain('aborted by bob: change freeze announced, abort the cutover');
    expect(md).toMatch(/\| abort \| bob \| change freeze announced, abort the cutover \|/);
    expect(md).toMatch(/\| extend \| bob \| a batch job runs tonight, watch it too \| \+30 min \|/);
  });

  it('names the parity failure that rolled a run back, with the figures of the drifting month', () => {
    const f = loadHistoryFixture('parity-mismatch');
    const r = buildAuditReport(f.history, { workflowId: f.workflowId });
    expect(r.outcome).toBe('rolled-back');
    expect(r.rollbacks[0].branch).toBe('backfill-or-verify-incomplete');
    expect(r.rollbacks[0].cause).toMatch(/parity cannot be reached for \d{4}-\d{2}/);
    const drifting = r.parity.filter((p) => !p.match);
    expect(drifting).toHaveLength(1);
    expect(drifting[0].postgres.count).toBeGreaterThan(0);
    expect(drifting[0].drift).toEqual({ missing: 0, stale: 0, extra: 1 });
    expect(r.decisions).toEqual([expect.objectContaining({ action: 'approve', operator: 'carol', reason: 'maintenance window opened, start the backfill', accepted: true })]);
    expect(r.finalMode).toBe('memory only');
    expect(renderMarkdown(r)).toContain('backfill-or-verify-incomplete');
  });

  it('shows the happy path as the runbook: phases with durations, approvals, parity per month, health checks', () => {
    const f = loadHistoryFixture('happy-path');
    const r = buildAuditReport(f.history, { workflowId: f.workflowId });
    expect(r.outcome).toBe('completed');
    expect(r.finalMode).toBe('postgres only');
    expect(r.rollbacks).toEqual([]);
    expect(r.phases.map((p) => p.phase)).toEqual([
      'preflight', 'ensure schema', 'enable dual-write (memory primary)', 'backfill', 'verify', 'migrate', 'switch primary to postgres', 'monitoring', 'verify and repair before the final cutover', 'final cutover', 'summary',
    ]);
    expect(r.phases.every((p) => typeof p.durationSeconds === 'number' && p.durationSeconds >= 0)).toBe(true);
    expect(r.decisions).toEqual([expect.objectContaining({ action: 'approve', operator: 'alice', gate: 'switch-primary', accepted: true })]);
    expect(r.parity.length).toBeGreaterThanOrEqual(3);
    // Counts may differ by writes in flight (the load generator ran): parity judges those apart.
    expect(r.parity.every((p) => p.match && p.drift?.missing === 0 && p.drift?.stale === 0 && p.drift?.extra === 0)).toBe(true);
    expect(r.parity.reduce((a, p) => a + p.memory.count, 0)).toBeGreaterThanOrEqual(300);
    expect(r.healthChecks.length).toBeGreaterThan(0);
    const json = JSON.parse(renderJson(r)) as typeof r;
    expect(json.phases).toHaveLength(11);
  });
});
