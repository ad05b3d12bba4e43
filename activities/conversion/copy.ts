import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { RecordCursor } from '../../src/memory-layer/record';
import type { ActivityDeps } from '../index';
import { sleep } from './locks';
import { recordThrottlePause } from '../lib/metrics';
import { checkLagLimits, waitForReplicas } from '../lib/replica-lag';
import { monthsSpanned } from './preflight';
import { guardedUpsertSql, HEAP, SELECT_COLUMNS, SHADOW, utcText } from './sql';

/** Before every row: (-infinity, nil uuid). */
export const START_CURSOR: RecordCursor = { createdAt: '-infinity', id: '00000000-0000-0000-0000-000000000000' };

export interface CopySliceInput {
  profile: string;
  /** Where the previous slice stopped (START_CURSOR for the first). */
  cursor: RecordCursor;
  /** The last row to copy: fixed when the copy starts (later rows reach the shadow by the trigger). */
  upperBound: RecordCursor | null;
  batchSize: number;
  /** 0 = unthrottled. */
  maxRowsPerSecond: number;
  pauseMsBetweenBatches: number;
  /** Return after this long, so the workflow can report progress (the next slice continues). */
  sliceSeconds: number;
  /** Pause before a batch while a standby replays more than this far behind (ms); 0/absent = off. */
  maxReplicaLagMs?: number;
  /** Pause before a batch while a replication slot retains more WAL than this (bytes); 0/absent = off. */
  maxSlotRetainedWalBytes?: number;
}

export interface CopySliceResult {
  cursor: RecordCursor;
  upperBound: RecordCursor | null;
  rowsScanned: number;
  batches: number;
  done: boolean;
  ms: number;
  /** Set when this attempt resumed from a heartbeated checkpoint of an earlier, failed attempt. */
  resumedFrom?: RecordCursor & { rowsScannedBefore: number; attempt: number };
}

interface Checkpoint {
  cursor: RecordCursor;
  upperBound: RecordCursor | null;
  rowsScanned: number;
  /** Why the copy is paused (replica lag), while it is. */
  pausedBecause?: string;
}

export function createCopyActivities(deps: Pick<ActivityDeps, 'profiles'>) {
  return {
    /**
     * The last (created_at, id) of the heap, taken after the trigger is installed: every row
     * beyond it was written later and is mirrored by the trigger. Also ensures a shadow
     * partition for every month up to it (rows written before the trigger may open new months).
     */
    async copyUpperBound(input: { profile: string }): Promise<{ upperBound: RecordCursor | null; months: string[] }> {
      return deps.profiles.withClient(input.profile, async (c) => {
        const r = await c.query<{ created_at: string; id: string }>(
          `SELECT ${utcText('created_at')} AS created_at, id::text FROM ${HEAP} ORDER BY created_at DESC, id DESC LIMIT 1`);
        const span = await monthsSpanned(c, [HEAP]);
        if (span.months.length) await c.query(`SELECT create_monthly_partition(m, $2) FROM unnest($1::date[]) m`, [span.months, SHADOW]);
        const row = r.rows[0];
        return { upperBound: row ? { createdAt: row.created_at, id: row.id } : null, months: span.months };
      });
    },

    /**
     * Keyset-batched copy heap → shadow over (created_at, id) > cursor, up to the upper bound.
     * Each batch is one statement: the source rows are read FOR SHARE, so a concurrent update or
     * delete of one of them waits until the batch commits and its trigger then applies on top
     * (no deleted row is resurrected, no stale version is written); the upsert never overwrites
     * a newer version. Heartbeats the cursor after each batch; a retry resumes from it.
     * Idempotent: re-copying a range changes nothing.
     */
    async copyHeapSlice(input: CopySliceInput): Promise<CopySliceResult> {
      const ctx = Context.current();
      const t0 = performance.now();
      const prior = ctx.info.heartbeatDetails as Checkpoint | undefined;
      let cursor = input.cursor;
      let rowsScanned = 0;
      let resumedFrom: CopySliceResult['resumedFrom'];
      if (prior?.cursor && ctx.info.attempt > 1) {
        cursor = prior.cursor;
        rowsScanned = prior.rowsScanned;
        resumedFrom = { ...prior.cursor, rowsScannedBefore: prior.rowsScanned, attempt: ctx.info.attempt };
        ctx.log.info('copy resumes from its heartbeated checkpoint', { cursor: prior.cursor, rows: prior.rowsScanned });
      }
      const upper = input.upperBound;
      let batches = 0;
      let done = upper === null;
      const pool = deps.profiles.pool(input.profile);
      const select = `SELECT ${SELECT_COLUMNS} FROM src`;
      const sql = `WITH src AS MATERIALIZED (
          SELECT ${SELECT_COLUMNS} FROM ${HEAP} h
           WHERE (h.created_at, h.id) > ($1::timestamptz, $2::uuid)
             AND (h.created_at, h.id) <= ($3::timestamptz, $4::uuid)
           ORDER BY h.created_at, h.id
           LIMIT $5
           FOR SHARE
        ), ins AS (${guardedUpsertSql(SHADOW, select)} RETURNING 1),
        last AS (SELECT created_at, id FROM src ORDER BY created_at DESC, id DESC LIMIT 1)
        SELECT (SELECT count(*) FROM src)::int AS n,
               (SELECT count(*) FROM ins)::int AS written,
               (SELECT ${utcText('created_at')} FROM last) AS last_created_at,
               (SELECT id::text FROM last) AS last_id`;
      const lag = { maxReplicaLagMs: input.maxReplicaLagMs ?? 0, maxSlotRetainedWalBytes: input.maxSlotRetainedWalBytes ?? 0 };
      try {
        checkLagLimits(lag, 'copy');
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidInput');
      }
      while (!done) {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('copy cancelled');
        // The database's other consumers: the copy's WAL must not leave a standby or a slot behind
        // (fails closed while the lag cannot be measured); the reason is in the heartbeat.
        await waitForReplicas(pool, lag, (ms) => ctx.sleep(ms), (reason) => {
          ctx.heartbeat({ cursor, upperBound: upper, rowsScanned, ...(reason ? { pausedBecause: reason } : {}) } satisfies Checkpoint);
        });
        const b0 = performance.now();
        const r = await pool.query<{ n: number; written: number; last_created_at: string | null; last_id: string | null }>(sql, [
          cursor.createdAt, cursor.id, upper!.createdAt, upper!.id, input.batchSize,
        ]);
        const row = r.rows[0];
        batches++;
        rowsScanned += row.n;
        if (row.n > 0) cursor = { createdAt: row.last_created_at!, id: row.last_id! };
        if (row.n < input.batchSize) done = true;
        ctx.heartbeat({ cursor, upperBound: upper, rowsScanned } satisfies Checkpoint);
        if (done || performance.now() - t0 > input.sliceSeconds * 1000) break;
        // Throttle: at most maxRowsPerSecond, and at least the configured pause between batches.
        const budgetMs = input.maxRowsPerSecond > 0 ? (row.n / input.maxRowsPerSecond) * 1000 : 0;
        const waitMs = Math.max(input.pauseMsBetweenBatches, budgetMs - (performance.now() - b0));
        if (waitMs > 0) {
          recordThrottlePause(HEAP, 'rate_limit', waitMs);
          await Promise.race([sleep(waitMs), ctx.cancelled.catch(() => undefined)]);
        }
      }
      return { cursor, upperBound: upper, rowsScanned, batches, done, ms: Math.round(performance.now() - t0), resumedFrom };
    },
  };
}
