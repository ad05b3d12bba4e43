import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { approveUpdate, statusQuery } from '../../workflows/messages';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { parseGenericConversionInput } from '../../workflows/conversion/generic-input';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { buildAuditReport } from '../../src/audit/report';
import { fetchRunChain } from '../../src/audit/chain';
import { APP_ROLE_SQL } from './generic/shapes';
import { startWorker, underGenericLoad } from './harness';

const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

// 12,000 rows over about 25 months: with one lane at 400 rows/s and 1 s slices, about one partition
// per copy slice; parity ranges of 200 rows at 400 rows/s, a few ranges per slice.
const ROWS = 12_000;
beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-handover');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
    CREATE TABLE shop.ledger (id bigserial PRIMARY KEY, booked_at timestamptz NOT NULL DEFAULT now(), account int NOT NULL, amount numeric(12,2) NOT NULL, memo text);
    INSERT INTO shop.ledger (booked_at, account, amount, memo) SELECT now() - g * interval '90 minutes', g % 17, g / 3.0, 'm' || g FROM generate_series(1, ${ROWS}) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.ledger TO ${app};
    GRANT USAGE ON SEQUENCE shop.ledger_id_seq TO ${app};`);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

type Event = {
  eventId?: unknown;
  workflowExecutionStartedEventAttributes?: { input?: { payloads?: Payload[] | null } | null } | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null; input?: { payloads?: Payload[] | null } | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown; result?: { payloads?: Payload[] | null } | null } | null;
};
const decode = (p: { payloads?: Payload[] | null } | null | undefined): Record<string, unknown> => defaultPayloadConverter.fromPayload(p!.payloads![0]);

/** Each activity of `name` in the chain, in order: the run, its input and its result (matched by the scheduling event). */
function activitiesOf(chain: { events?: Event[] | null }[], name: string): { run: number; input: Record<string, unknown>; result: Record<string, unknown> }[] {
  const out: { run: number; input: Record<string, unknown>; result: Record<string, unknown> }[] = [];
  chain.forEach((h, run) => {
    const byId = new Map<string, (typeof out)[number]>();
    for (const e of h.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s && s.activityType?.name === name) {
        const a = { run, input: decode(s.input), result: {} };
        byId.set(String(e.eventId), a);
        out.push(a);
      }
      const c = e.activityTaskCompletedEventAttributes;
      const a = c && byId.get(String(c.scheduledEventId));
      if (a) a.result = decode(c.result);
    }
  });
  return out;
}

describe('generic conversion: hand-over between copy slices and between parity slices', () => {
  it('copy.sliceSeconds and copy.parityRangeRows: integers in range, refused naming the field', () => {
    const base = { table: 'shop.ledger', partitionBy: { column: 'booked_at', interval: 'month' } };
    expect(parseGenericConversionInput(base).sliceSeconds).toBe(30);
    expect(parseGenericConversionInput(base).parityRangeRows).toBeUndefined();
    expect(parseGenericConversionInput({ ...base, copy: { sliceSeconds: 1, parityRangeRows: 100 } })).toMatchObject({ sliceSeconds: 1, parityRangeRows: 100 });
    for (const bad of [0, 3601, 1.5, '2']) expect(() => parseGenericConversionInput({ ...base, copy: { sliceSeconds: bad } })).toThrow(/copy\.sliceSeconds.*1 to 3600/);
    for (const bad of [99, 10_000_001, 2.5, 'x']) expect(() => parseGenericConversionInput({ ...base, copy: { parityRangeRows: bad } })).toThrow(/copy\.parityRangeRows.*100 to 10000000/);
  });

  it('a conversion under the generic load hands over during the copy and during the verify, each run resuming at the last checkpoint; oracle at zero', async () => {
    const workflowId = `ledger-handover-${taskQueue}`;
    /** Progress seen by the status query in the copy phase of a continued run (it must never restart at 0). */
    const continuedCopyProgress: number[] = [];
    const summary = await underGenericLoad(db, appUrl(), 'shop.ledger', { seed: 25, ratePerSec: 60, spreadDays: 700 }, async () => {
      const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId,
        args: [{
          table: 'shop.ledger', partitionBy: { column: 'booked_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0.2, retentionCheckMinutes: 0.05,
          approvals: { beforeSwap: false }, copy: { parallelism: 1, sliceSeconds: 1, maxRowsPerSecond: 400, parityRangeRows: 200 }, history: { maxEvents: 100 },
        }],
      });
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'ana', reason: 'drop approved in the change ticket', gate: 'drop-old-table' }] });
      let finished = false;
      const result = handle.result().finally(() => (finished = true));
      while (!finished) {
        const st = await handle.query(statusQuery).catch(() => undefined);
        if (st?.phase === 'copy' && st.notes.some((n) => n.startsWith('continued from')) && st.progress) continuedCopyProgress.push(st.progress.done);
        await new Promise((r) => setTimeout(r, 250));
      }
      return (await result) as GenericConversionSummary;
    });
    expect(summary.outcome, summary.cause).toBe('completed');
    expect(summary.phases.map((p) => p.phase)).toEqual(['preflight', 'create shadow', 'install sync', 'copy', 'verify', 'swap', 'post-swap check', 'retention', 'drop old table', 'partitions ahead', 'maintenance schedule', 'summary']);
    expect(summary.phases.every((p) => p.outcome === 'ok'), JSON.stringify(summary.phases)).toBe(true);
    const made = summary.keepsWorking?.schedule as { scheduleId?: string };
    if (made.scheduleId) await temporal.client.schedule.getHandle(made.scheduleId).delete();
    expect(summary.parity?.match).toBe(true);
    expect(summary.droppedOldTable).toBe(true);

    const chain = await fetchRunChain(temporal.client.workflow, workflowId);
    expect(summary.history?.runs).toBe(chain.length);
    const at = summary.history!.continuedAt.map((c) => c.handedOverAt);
    expect(at, at.join(', ')).toContain('copy');
    expect(at, at.join(', ')).toContain('verify');

    // The summary counts every copy activity of the chain; no worker died, so nothing resumed from a heartbeat.
    const report = buildAuditReport(chain, { workflowId });
    expect(report).toMatchObject({ status: 'completed', outcome: 'completed' });
    const copies = report.activities.filter((a) => a.activity === 'copyGenericSnapshot');
    expect(summary.copy?.slices).toBe(copies.length);
    expect(copies.length).toBeGreaterThan(2);
    expect(summary.copy?.resumes).toEqual([]);
    expect(summary.copy?.rows).toBeGreaterThan(0);

    // Each copy slice starts exactly where the previous one (in this run or the run before) ended: no partition twice.
    const copy = activitiesOf(chain as never, 'copyGenericSnapshot');
    expect(copy.length).toBe(copies.length);
    expect(copy[0].input.from).toBeUndefined();
    for (let i = 1; i < copy.length; i++) expect(copy[i].input.from, `copy slice ${i}`).toEqual(copy[i - 1].result.snapshotCheckpoint);
    const lastCopy = copy[copy.length - 1].result as { done: boolean; batches: number; partitions: number };
    expect(lastCopy.done).toBe(true);
    expect(lastCopy.batches).toBe(lastCopy.partitions); // every partition filled once
    // Each parity slice goes on from the previous one's checkpoint, across hand-overs too: no range compared from the start again.
    const parity = activitiesOf(chain as never, 'genericParity');
    expect(parity[0].input.from).toBeUndefined();
    for (let i = 1; i < parity.length; i++) expect(parity[i].input.from, `parity slice ${i}`).toEqual(parity[i - 1].result.checkpoint);
    expect(new Set(copy.map((a) => a.run)).size).toBeGreaterThan(1);
    expect(new Set(parity.map((a) => a.run)).size).toBeGreaterThan(1);

    // A continued run starts its copy or parity with the rows so far as its progress (never 0).
    for (const h of chain.slice(1)) {
      const c = decode((h.events![0] as Event).workflowExecutionStartedEventAttributes!.input).continued as {
        stage: string; copy?: { from: { rows: number }; progress?: { done: number } }; parity?: { from: { rows: number }; progress?: { done: number } }; decided?: { engine?: string; sliced: boolean };
      };
      expect(c.decided).toMatchObject({ engine: 'change-log', sliced: true });
      if (c.stage === 'copy') {
        expect(c.copy!.from.rows).toBeGreaterThan(0);
        expect(c.copy!.progress?.done).toBe(c.copy!.from.rows);
      }
      if (c.stage === 'verify') {
        expect(c.parity!.from.rows).toBeGreaterThan(0);
        expect(c.parity!.progress?.done).toBe(c.parity!.from.rows);
      }
    }
    expect(continuedCopyProgress.filter((d) => d === 0)).toEqual([]);

    // Every run of the chain replays against the current code.
    for (const h of chain) await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, h as never, workflowId);
  });
});
