import { describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { expectNothingLost, QUICK_RUN, useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { getCutoverHandle } from '../../src/client';
import { buildAuditReport, renderMarkdown } from '../../src/audit/report';
import { fetchRunChain } from '../../src/audit/chain';
import { CUTOVER_PHASE, CUTOVER_STATE, CUTOVER_TARGET } from '../../src/shared/search-attributes';
import type { ProductionCutoverInput } from '../../workflows/production-input';
import type { ProductionCutoverResult } from '../../workflows/production';
import type { RunStatus } from '../../workflows/types';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 1500, months: 3 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Issue 17 item 4, bounded histories: with a tiny history budget (100 events) one cutover
 * under load spans several runs of one workflow id — handing over between backfill chunks, in
 * the monitoring window and between steps — and nothing is lost: the oracle is at zero, an
 * approval given ahead of time in the first run still counts in a later one, the status query
 * follows the newest run, and the audit report of the chain reads as one run.
 */
describe('productionCutover: bounded histories (continue-as-new)', () => {
  it('one cutover spans at least three runs under load, with the oracle at zero and one audit report', async () => {
    const taskQueue = temporal.taskQueue('prod-can');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const load = env.startLoad(60);
    const workflowId = `prod-can-${taskQueue}`;
    const h = getCutoverHandle<ProductionCutoverResult>(temporal.client, workflowId);
    const input: ProductionCutoverInput = {
      ...QUICK_RUN,
      backfill: { batchSize: 50, chunkRows: 50 },
      monitoring: { windowMinutes: 0.4, healthCheckEveryMinutes: 0.05 },
      health: { maxLatencyRatio: 50, latencyFloorMs: 200 },
      approvals: { beforeSwitchPrimary: true, beforeFinalCutover: true },
      history: { maxEvents: 100 },
    };
    const seen = new Set<string>();
    const result = await w.runUntil((async () => {
      await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId, args: [input] });
      // A pre-approval given to the first run, carried through every hand-over.
      await h.approve({ operator: 'ana', reason: 'pre-approved in the change ticket', gate: 'final-cutover' });
      let status: RunStatus;
      for (;;) {
        status = await h.status();
        seen.add((await h.describe()).runId);
        if (status.state === 'waiting-for-approval') break;
        expect(status.state).not.toMatch(/failed|rolled-back|aborted/);
        await sleep(200);
      }
      expect(status.waitingOn).toMatch(/switch-primary/);
      await h.approve({ operator: 'ana', reason: 'backfill verified' });
      return h.result();
    })());
    const log = await load.stop();

    expect(result.outcome, JSON.stringify({ rollbacks: result.rollbacks, notes: result.phases })).toBe('completed');
    expect(result.finalMode).toMatchObject({ persistence: 'postgres' });
    expectNothingLost(await env.oracleAgainstPostgres(log));

    // A chain of at least three runs, handed over mid-backfill and mid-window too.
    const chain = await fetchRunChain(temporal.client.workflow, workflowId);
    expect(chain.length).toBeGreaterThanOrEqual(3);
    expect(result.history?.runs).toBe(chain.length);
    expect(result.history?.continuedAt.map((c) => c.runId)).toEqual(chain.slice(0, -1).map((c) => c.runId));
    const at = result.history!.continuedAt.map((c) => c.handedOverAt);
    expect(at).toContain('backfill');
    expect(at).toContain('switch');
    for (const c of result.history!.continuedAt) expect(c.events).toBeLessThan(100 + 60); // budget + what one safe point adds
    expect(seen.size, 'the status query answered from more than one run').toBeGreaterThan(1);

    // Each step of the runbook once, in order, all ok: the chain reads as one run.
    const names = result.phases.map((p) => p.phase);
    for (const p of ['preflight', 'backfill', 'verify', 'migrate', 'switch primary to postgres', 'monitoring', 'final cutover', 'summary']) {
      expect(names.filter((n) => n === p), `${p} in ${names.join(' → ')}`).toHaveLength(1);
    }
    expect(result.phases.every((p) => p.outcome === 'ok'), JSON.stringify(result.phases)).toBe(true);
    expect(result.backfill.rows).toBeGreaterThanOrEqual(1500);
    expect(result.parity.every((m) => m.match)).toBe(true);
    // The approval given to the first run opened the final cutover in a later one.
    expect(result.decisions.filter((d) => d.action === 'approve').map((d) => d.gate)).toEqual(['final-cutover', 'switch-primary']);

    const report = buildAuditReport(chain, { workflowId });
    expect(report.status).toBe('completed');
    expect(report.outcome).toBe('completed');
    expect(report.runs).toHaveLength(chain.length);
    expect(report.runs.slice(0, -1).every((r) => r.endedAs === 'continued-as-new')).toBe(true);
    expect(report.input).toMatchObject({ history: { maxEvents: 100 } });
    expect(report.input).not.toHaveProperty('continued');
    expect(report.startedAt).toBe(report.runs[0].startedAt);
    expect(report.modeChanges.map((m) => m.mode)).toEqual(['dual-write, memory primary', 'dual-write, postgres primary', 'postgres only']);
    expect(report.decisions.filter((d) => d.action === 'approve').map((d) => d.operator)).toEqual(['ana', 'ana']);
    expect(report.phases.map((p) => p.phase)).toEqual(names);
    expect(report.activities.filter((a) => a.activity === 'backfillChunk').length).toBeGreaterThanOrEqual(30);
    expect(report.activities.every((a) => a.outcome === 'completed')).toBe(true);
    expect(renderMarkdown(report)).toMatch(/one run across \d+ histories: continued as new \d+ time/);

    // The newest run carries the search attributes.
    const d = await h.describe();
    expect(d.typedSearchAttributes.get(CUTOVER_TARGET)).toBe('memory_records');
    expect(d.typedSearchAttributes.get(CUTOVER_STATE)).toBe('completed');
    expect(d.typedSearchAttributes.get(CUTOVER_PHASE)).toBe('summary');
  });
});
