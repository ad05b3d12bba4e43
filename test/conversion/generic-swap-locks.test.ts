import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Client } from 'pg';
import { getCutoverHandle } from '../../src/client';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { APP_ROLE_SQL } from './generic/shapes';
import { startWorker, underGenericLoad, waitFor, waitForStatus } from './harness';

/**
 * The any-table engine's swap under a long transaction, as memory_records' (swap-locks.test.ts):
 * a lock timeout is retried with backoff inside the activity up to `swap.maxTries`, then the run
 * waits for an operator naming the tries and the lock_timeout. Generic load as the app role
 * throughout, row oracle at zero.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;
const LOCK_TIMEOUT_MS = 100;
/** As swap-locks.test.ts: generous slack for a busy test machine; the bound under test is the lock_timeout itself. */
const MARGIN_MS = 1000;
/** How long (a) holds its lock: well past lock_timeout + margin, so a writer queued behind an unbounded lock request would show it. */
const HOLD_MS = 4000;

const tableSql = (t: string) => `CREATE SCHEMA IF NOT EXISTS shop; GRANT USAGE ON SCHEMA shop TO ${app};
  CREATE TABLE shop.${t} (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL, note text);
  INSERT INTO shop.${t} (placed_at, customer, total, note) SELECT now() - g * interval '5 hours', g % 13, g / 7.0, 'n' || g FROM generate_series(1, 2000) g;
  GRANT SELECT, INSERT, UPDATE, DELETE ON shop.${t} TO ${app}; GRANT USAGE ON SEQUENCE shop.${t}_id_seq TO ${app};`;

/** A long transaction holding ACCESS SHARE on the table (a report, a pg_dump…): the swap's ACCESS EXCLUSIVE waits for it. */
async function longReader(table: string): Promise<{ release(): Promise<void> }> {
  const c = new Client({ connectionString: db.url });
  c.on('error', () => undefined);
  await c.connect();
  await c.query('BEGIN');
  await c.query(`SELECT count(*) FROM ${table}`);
  let done = false;
  return {
    async release() {
      if (done) return;
      done = true;
      await c.query('COMMIT');
      await c.end();
    },
  };
}

/**
 * An app write as the app role, over and over: an UPDATE that matches no row still takes the
 * table's ROW EXCLUSIVE lock (it queues behind the swap's lock request) and changes nothing the
 * oracle judges. Returns the longest one.
 */
function writeProbe(table: string): { stop(): Promise<{ maxMs: number; writes: number }> } {
  let stopped = false;
  let maxMs = 0;
  let writes = 0;
  const running = (async () => {
    const c = new Client({ connectionString: appUrl() });
    await c.connect();
    try {
      while (!stopped) {
        const t0 = performance.now();
        await c.query(`UPDATE ${table} SET note = note WHERE false`);
        maxMs = Math.max(maxMs, performance.now() - t0);
        writes++;
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await c.end();
    }
  })();
  return { async stop() { stopped = true; await running; return { maxMs, writes }; } };
}

const relkind = async (t: string) => (await db.pool.query<{ k: string | null }>(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k`, [t])).rows[0].k;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-swap-locks');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(APP_ROLE_SQL(app));
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

/** Starts the conversion of `table`, waits at before-swap, takes the long reader's lock, approves the swap. */
async function startHeldAtSwap(table: string, workflowId: string, swap: Record<string, number>, mode: 'copy' | 'attach' = 'copy') {
  const raw = await temporal.client.workflow.start('heapToPartitionedConversion', {
    taskQueue, workflowId,
    args: [{ table, mode, partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: true }, swap }],
  });
  const h = getCutoverHandle<GenericConversionSummary>(temporal.client, workflowId);
  await waitForStatus(raw, 'the before-swap gate', (s) => s.state === 'waiting-for-approval' && s.waitingOn?.includes('before-swap') === true, 120_000);
  const blocker = await longReader(table);
  onTestFinished(() => blocker.release());
  await h.approve({ operator: 'ops', reason: 'parity verified', gate: 'before-swap' });
  await waitForStatus(raw, 'the swap phase', (s) => s.phase === 'swap');
  return { raw, h, blocker };
}

describe('heapToPartitionedConversion of any table: the swap under a long transaction', () => {
  it('retries with backoff inside the activity while a long transaction holds a lock, then swaps by itself once it ends; writers wait at most ~lock_timeout', async () => {
    const table = 'shop.held_briefly';
    await db.pool.query(tableSql('held_briefly'));
    let probe = { maxMs: 0, writes: 0 };
    const summary = await underGenericLoad(db, appUrl(), table, { seed: 25 }, async () => {
      const { raw, h, blocker } = await startHeldAtSwap(table, `gswap-retry-${taskQueue}`, { lockTimeoutMs: LOCK_TIMEOUT_MS, maxTries: 60, backoffMs: 50, maxBackoffMs: 200 });
      const writes = writeProbe(table);
      await new Promise((r) => setTimeout(r, HOLD_MS)); // many tries time out meanwhile
      expect(await relkind(table), 'not swapped while the lock is held').toBe('r');
      await blocker.release();
      await waitForStatus(raw, 'the drop gate', (s) => s.state === 'waiting-for-approval' && s.waitingOn?.includes('drop-old-table') === true, 120_000);
      probe = await writes.stop();
      await h.approve({ operator: 'ops', reason: 'test approves the drop', gate: 'drop-old-table' });
      return h.result();
    });

    expect(summary.outcome, summary.cause).toBe('completed');
    expect(summary.swap!.tries).toBeGreaterThan(2);
    expect(summary.swap!.operatorRetries).toBe(0);
    expect(summary.swap!.lockMs).toEqual(expect.any(Number));
    expect(summary.swap!.transactionMs).toBeGreaterThanOrEqual(summary.swap!.lockMs!);
    expect(summary.decisions.map((d) => d.action)).toEqual(['approve', 'approve']);
    expect(probe.writes).toBeGreaterThan(10);
    expect(probe.maxMs).toBeLessThan(LOCK_TIMEOUT_MS + MARGIN_MS);
    expect(await relkind(table)).toBe('p');
  });

  it('waits for an operator after swap.maxTries tries naming them and the lock_timeout, nothing swapped; a resume after the lock is released swaps', async () => {
    const table = 'shop.held_long';
    await db.pool.query(tableSql('held_long'));
    const summary = await underGenericLoad(db, appUrl(), table, { seed: 26 }, async () => {
      const { raw, h, blocker } = await startHeldAtSwap(table, `gswap-operator-${taskQueue}`, { lockTimeoutMs: LOCK_TIMEOUT_MS, maxTries: 3, backoffMs: 50, maxBackoffMs: 100 });
      const waiting = await waitForStatus(raw, 'the operator pause', (s) => s.state === 'waiting-for-operator');
      expect(waiting.phase).toBe('swap');
      expect(waiting.waitingOn).toMatch(/the swap could not take its locks in 3 tries \(lock_timeout 100 ms\) on "shop"\."held_long"/);
      // Still waiting a moment later: the run does not hammer the lock queue on its own.
      await new Promise((r) => setTimeout(r, 1000));
      expect((await waitForStatus(raw, 'still waiting', () => true)).state).toBe('waiting-for-operator');
      expect(await relkind(table), 'nothing swapped').toBe('r');
      expect(await relkind(`${table}_partitioned`)).toBe('p');

      await blocker.release();
      await h.resume({ operator: 'ops', reason: 'the report finished', decision: 'retry' });
      await waitForStatus(raw, 'the drop gate', (s) => s.state === 'waiting-for-approval' && s.waitingOn?.includes('drop-old-table') === true, 120_000);
      await h.approve({ operator: 'ops', reason: 'test approves the drop', gate: 'drop-old-table' });
      return h.result();
    });

    expect(summary.outcome, summary.cause).toBe('completed');
    expect(summary.swap!.operatorRetries).toBe(1);
    expect(summary.swap!.tries).toBeGreaterThanOrEqual(1);
    expect(summary.decisions.map((d) => d.action)).toEqual(['approve', 'resume', 'approve']);
    expect(await relkind(table)).toBe('p');
    expect(summary.droppedOldTable).toBe(true);
  });

  it('mode attach: the attach swap takes the same settings: after maxTries it waits for the operator naming them, a resume swaps', async () => {
    const table = 'shop.attach_held';
    await db.pool.query(tableSql('attach_held'));
    const summary = await underGenericLoad(db, appUrl(), table, { seed: 27 }, async () => {
      const { raw, h, blocker } = await startHeldAtSwap(table, `gswap-attach-${taskQueue}`, { lockTimeoutMs: LOCK_TIMEOUT_MS, maxTries: 4, backoffMs: 20, maxBackoffMs: 40 }, 'attach');
      const waiting = await waitForStatus(raw, 'the operator pause', (s) => s.state === 'waiting-for-operator');
      expect(waiting.phase).toBe('swap');
      expect(waiting.waitingOn).toMatch(/the attach swap could not take its locks in 4 tries \(lock_timeout 100 ms\) on "shop"\."attach_held"/);
      expect(await relkind(table), 'nothing swapped').toBe('r');
      await blocker.release();
      await h.resume({ operator: 'ops', reason: 'the report finished', decision: 'retry' });
      return h.result();
    });

    expect(summary.outcome, summary.cause).toBe('completed');
    expect(summary.mode).toBe('attach');
    expect(summary.swap!.operatorRetries).toBe(1);
    expect(summary.swap!.transactionMs).toBeGreaterThanOrEqual(summary.swap!.lockMs!);
    expect(await relkind(table)).toBe('p');
  });

  it('an abort while the swap retries cancels it between tries: it stops long before its tries run out, nothing swapped, the run rolls back', async () => {
    const table = 'shop.held_abort';
    await db.pool.query(tableSql('held_abort'));
    const summary = await underGenericLoad(db, appUrl(), table, { seed: 28 }, async () => {
      // 100 tries of 100 ms lock_timeout + at least 400 ms backoff (after the first): 50 s or more if nothing stopped them.
      const { raw, h, blocker } = await startHeldAtSwap(table, `gswap-abort-${taskQueue}`, { lockTimeoutMs: LOCK_TIMEOUT_MS, maxTries: 100, backoffMs: 400, maxBackoffMs: 800 });
      const swapping = async () => ((await raw.describe()).raw.pendingActivities ?? []).some((p) => p.activityType?.name === 'swapGeneric');
      await waitFor('the swap activity trying', async () => (await swapping()) || undefined);
      await h.abort({ operator: 'ops', reason: 'test aborts while the swap waits on its locks' });
      // Still holding the lock: the activity ends because it was cancelled (within one throttled heartbeat, 8 s), not because it swapped or ran out of tries.
      await waitFor('the swap activity to stop', async () => !(await swapping()) || undefined, 25_000);
      expect(await relkind(table), 'nothing swapped').toBe('r');
      await blocker.release();
      return h.result();
    });

    expect(summary.outcome).toBe('aborted');
    expect(summary.swap).toBeUndefined();
    expect(await relkind(table)).toBe('r');
    expect(await relkind(`${table}_partitioned`)).toBeNull();
  });
});
