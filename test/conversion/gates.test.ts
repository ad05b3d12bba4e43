import { describe, expect, it } from 'vitest';
import { CutoverRejectedError, getCutoverHandle } from '../../src/client';
import type { ConversionSummary } from '../../workflows/conversion';
import { useTemporal } from '../helpers/temporal';
import { DRIFT_APPROVAL, plantOldTableDrift, PRE_APPROVAL } from '../audit/conversion-scenarios';
import { checkOracle, relkinds, useConversionScenario, waitForStatus } from './harness';

const temporal = useTemporal();
const scenario = useConversionScenario(temporal, 'gates', 3000);

const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => {
  expect(e).toBeInstanceOf(CutoverRejectedError);
  return (e as Error).message;
});

/**
 * Issue 12, item 3: an approval is accepted only for the open gate or one the run announced as
 * upcoming (and says which it was); a pre-approval of drop-old-table does not survive drift
 * seen during retention — the old table stays until an approval names the drift.
 */
describe('approval gates of the conversion', () => {
  it('refuses gates that are not open or upcoming, and keeps memory_records_old when retention drifts after a pre-approval', async () => {
    const { db, writer, taskQueue } = await scenario();
    const workflowId = `gates-${taskQueue}`;
    const raw = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue, workflowId,
      args: [{ nonProduction: true, retentionMinutes: 0.5, retentionCheckMinutes: 0.05, approvals: { beforeSwap: true }, copy: { batchSize: 1000, sliceSeconds: 2 }, swap: { lockTimeoutMs: 200 } }],
    });
    const h = getCutoverHandle<ConversionSummary>(temporal.client, workflowId);
    const first = await waitForStatus(raw, 'the first workflow task', (s) => s.phases.length > 0);
    expect(first.upcomingGates).toEqual(['before-swap', 'drop-old-table']);

    // Nothing the run does not have, nothing that only a window opens.
    expect(await refusal(h.approve({ operator: 'frank', reason: 'typo in the gate name', gate: 'drop-old-tables' }))).toMatch(/gate: this run has no gate "drop-old-tables" ahead \(no gate is open; upcoming: "before-swap", "drop-old-table"\)/);
    expect(await refusal(h.approve({ operator: 'frank', reason: 'end it now', gate: 'end-retention' }))).toMatch(/no gate "end-retention" ahead/);
    expect(await refusal(h.approve({ operator: 'frank', reason: 'whatever is open' }))).toMatch(/no approval gate is open .*upcoming: "before-swap", "drop-old-table"/);

    // A pre-approval says it is one.
    const pre = await h.approve(PRE_APPROVAL);
    expect(pre.message).toMatch(/^pre-approved upcoming gate drop-old-table/);

    // The swap gate is approved when it is open; afterwards it has passed.
    await waitForStatus(raw, 'the before-swap gate', (s) => s.state === 'waiting-for-approval' && /"before-swap"/.test(s.waitingOn ?? ''), 120_000);
    expect((await h.approve({ operator: 'frank', reason: 'parity verified, swap' })).message).toBe('approved before-swap');
    const retention = await waitForStatus(raw, 'retention', (s) => s.phase === 'retention', 60_000);
    expect(retention.upcomingGates).toEqual(['drop-old-table']);
    expect(await refusal(h.approve({ operator: 'frank', reason: 'once more', gate: 'before-swap' }))).toMatch(/gate "before-swap" has already passed/);

    // A reverse-sync gap during retention: the pre-approval no longer counts.
    await plantOldTableDrift(db.pool);
    const waiting = await waitForStatus(raw, 'the drop-old-table gate', (s) => s.state === 'waiting-for-approval', 120_000);
    expect(waiting.phase).toBe('retention');
    expect(waiting.waitingOn).toMatch(/approval of "drop-old-table": .*retention parity saw drift \(\d{4}-\d{2}\)/);
    expect(waiting.gateConditions).toEqual([expect.objectContaining({ gate: 'drop-old-table', mustName: expect.arrayContaining(['drift']) })]);
    expect(waiting.notes.join('\n')).toMatch(/the approval of drop-old-table by frank .* no longer counts: retention parity saw memory_records_old drift/);
    await new Promise((r) => setTimeout(r, 2000)); // a stale approval would have dropped it by now
    expect(await relkinds(db.pool)).toMatchObject({ memory_records: 'p', memory_records_old: 'r' });
    expect((await h.status()).state).toBe('waiting-for-approval');

    // An approval that does not name the drift is refused; one that does drops the table.
    expect(await refusal(h.approve({ operator: 'frank', reason: 'retention is over, drop it' }))).toMatch(/reason: retention parity saw memory_records_old drift .*must name it \(mention "drift"/);
    expect((await h.approve(DRIFT_APPROVAL)).message).toBe('approved drop-old-table');
    const summary = await h.result();
    await writer.stop();
    expect(summary.outcome).toBe('completed');
    expect(summary.retention).toMatchObject({ driftSeen: true, drift: [expect.stringMatching(/^\d{4}-\d{2}$/)] });
    expect(summary.droppedOldTable).toBe(true);
    expect(summary.decisions.map((d) => [d.gate, d.detail ?? '', d.reason])).toEqual([
      ['drop-old-table', 'pre-approval of an upcoming gate', PRE_APPROVAL.reason],
      ['before-swap', '', 'parity verified, swap'],
      ['drop-old-table', '', DRIFT_APPROVAL.reason],
    ]);
    expect(await relkinds(db.pool)).toMatchObject({ memory_records: 'p', memory_records_old: null });
    expect(writer.errors).toEqual([]);
    expect(await checkOracle(db.url, 'memory_records', writer.oracle)).toEqual({ missing: 0, stale: 0, resurrected: 0, examples: [] });
  });
});
