import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { expectNothingLost, QUICK_RUN, useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { waitForStatus } from '../helpers/status';
import { getCutoverHandle } from '../../src/client';
import { buildAuditReport, renderMarkdown } from '../../src/audit/report';
import type { MemoryRecord } from '../../src/memory-layer/record';
import type { ProductionCutoverResult } from '../../workflows/production';
import { call } from '../memory-layer/http';
import { applyPlan } from '../../src/migrations/runner';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 500, months: 3 });

/**
 * Issue 12, item 1: a record Postgres refuses that is already in memory (held from before the
 * API refused NUL and lone surrogates) never stalls the back-fill: it is quarantined — named in
 * the history and the audit report — the rest goes on, and before the switch the run waits
 * for an operator to skip it (recorded). After the skip the run reaches the final cutover with
 * the oracle at zero for every other record.
 */
describe('productionCutover with records Postgres cannot store in memory', () => {
  it('quarantines them, names them, waits for a recorded skip, and loses nothing else', async () => {
    const [a, b] = env.apps.instances;
    // The API refuses them now, in memory mode too, naming the field.
    const refused = await call(a.url, 'POST', '/records', { ownerId: 'o', kind: 'note', content: 'a\u0000b' });
    expect({ status: refused.status, field: refused.body.field }).toEqual({ status: 400, field: 'content' });
    // Held from before that rule: put straight into two instances' memory stores.
    const at = new Date(Date.now() - 86_400_000);
    const legacy = (over: Partial<MemoryRecord>): MemoryRecord => ({ id: crypto.randomUUID(), ownerId: 'legacy', agentId: null, kind: 'note', content: 'ok', metadata: {}, createdAt: at, updatedAt: at, ...over });
    const nul = legacy({ content: 'before\u0000after' });
    const surrogate = legacy({ metadata: { title: 'half \uD83D of an emoji' } });
    expect(a.service.memory.putSync(nul)).toBe('written');
    expect(b.service.memory.putSync(surrogate)).toBe('written');
    // An earlier dual-write stored an older version of the surrogate one (U+FFFD in place of the
    // half emoji): verify must not take Postgres' copy for a stray and delete it (the quarantined
    // record is held, just not comparable) — but once the operator skips the record, that older
    // version must go, or it is served after the switch (issue 24, item 5). Postgres holds a
    // NEWER version of the NUL one: that one is not stale and stays.
    await env.db.withClient((c) => applyPlan(c, 'partitioned'));
    const older = new Date(at.getTime() - 3_600_000);
    const newer = new Date(at.getTime() + 3_600_000);
    await env.db.pool.query(
      `INSERT INTO memory_records (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at) VALUES ($1, 'legacy', NULL, 'note', 'ok', $2::jsonb, $3, $4)`,
      [surrogate.id, JSON.stringify({ title: 'half \uFFFD of an emoji' }), at, older],
    );
    await env.db.pool.query(
      `INSERT INTO memory_records (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at) VALUES ($1, 'legacy', NULL, 'note', 'fixed by hand', '{}'::jsonb, $2, $3)`,
      [nul.id, at, newer],
    );

    const taskQueue = temporal.taskQueue('prod-quarantine');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const load = env.startLoad(80);
    const workflowId = `prod-quarantine-${taskQueue}`;
    const h = getCutoverHandle<ProductionCutoverResult>(temporal.client, workflowId);
    const result = await w.runUntil((async () => {
      const raw = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId, args: [{ ...QUICK_RUN, health: { maxLatencyRatio: 50, latencyFloorMs: 100 } }] });
      const gate = await waitForStatus(raw, (s) => s.state === 'waiting-for-approval', 180_000);
      expect(gate.waitingOn).toMatch(/approval of "skip-quarantined": 2 record\(s\) held in memory that Postgres cannot store/);
      expect(gate.waitingOn).toContain(nul.id);
      expect(gate.waitingOn).toContain(surrogate.id);
      // The back-fill and verify went on without them: nothing rolled back, neither is in Postgres.
      expect(gate.rollbacks).toEqual([]);
      expect(gate.phases.map((p) => p.phase)).toEqual(expect.arrayContaining(['backfill', 'verify']));
      const inPg = await env.db.pool.query('SELECT id::text FROM memory_records WHERE id = ANY($1::uuid[]) ORDER BY id', [[nul.id, surrogate.id]]);
      expect(inPg.rows).toEqual([{ id: nul.id }, { id: surrogate.id }].sort((x, y) => (x.id < y.id ? -1 : 1))); // kept by verify
      await h.approve({ operator: 'ivy', reason: 'two legacy records from the old importer; their owner keeps a copy', gate: 'skip-quarantined' });
      return (await raw.result()) as ProductionCutoverResult;
    })());
    const log = await load.stop();

    expect(result.outcome, JSON.stringify(result.rollbacks)).toBe('completed');
    expect(result.finalMode).toMatchObject({ persistence: 'postgres' });
    expect(result.quarantine?.records).toEqual(expect.arrayContaining([
      expect.objectContaining({ id: nul.id, instanceId: a.instanceId, field: 'content' }),
      expect.objectContaining({ id: surrogate.id, instanceId: b.instanceId, field: 'metadata.title' }),
    ]));
    // One skip, before the switch: the final cutover's check found nothing new. It removed the
    // older Postgres version of the surrogate one (recorded), and kept the newer one of the NUL one.
    expect(result.quarantine?.skipped).toEqual([expect.objectContaining({ before: 'switch of the primary', operator: 'ivy', total: 2 })]);
    expect(result.quarantine?.skipped[0].removedFromPostgres).toEqual([
      { id: surrogate.id, instanceId: b.instanceId, updatedAt: older.toISOString(), quarantinedUpdatedAt: at.toISOString() },
    ]);
    const left = await env.db.pool.query('SELECT id::text, content FROM memory_records WHERE id = ANY($1::uuid[])', [[nul.id, surrogate.id]]);
    expect(left.rows).toEqual([{ id: nul.id, content: 'fixed by hand' }]);
    expect((await env.db.pool.query('SELECT 1 FROM memory_record_tombstones WHERE id = $1', [surrogate.id])).rowCount).toBe(1);
    expect(result.decisions).toEqual([expect.objectContaining({ action: 'approve', gate: 'skip-quarantined', operator: 'ivy' })]);
    // The audit report names both, with the decision that skipped them.
    const audit = buildAuditReport(await h.raw.fetchHistory(), { workflowId });
    expect(audit.quarantined.map((q) => q.id).sort()).toEqual([nul.id, surrogate.id].sort());
    expect(renderMarkdown(audit)).toMatch(/## Quarantined records[\s\S]*content contains a NUL character/);
    expect(audit.quarantineRemoved).toEqual([{ instanceId: b.instanceId, id: surrogate.id, updatedAt: older.toISOString(), quarantinedUpdatedAt: at.toISOString() }]);
    expect(renderMarkdown(audit)).toContain(`## Older versions of skipped records removed from Postgres`);
    expect(audit.decisions).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'approve', gate: 'skip-quarantined', accepted: true })]));
    expectNothingLost(await env.oracleAgainstPostgres(log));
  });
});
