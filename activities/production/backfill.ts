import { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../index';
import type { RecordCursor } from '../../src/memory-layer/record';
import { upsertRecords, type UpsertResult } from '../../src/memory-layer/storage/pg-store';
import { upsertCopyText } from '../../src/memory-layer/storage/pg-staged-upsert';
import { exportSlabs } from './export-slabs';
import { adminClient, type AppsSpec } from './instances';
import type { AdminClient, InstanceRef } from '../lib/admin-client';
import { AppPressure } from '../lib/throttle';
import { recordThrottlePause } from '../lib/metrics';
import { checkLagLimits, waitForReplicas, type ReplicaLagLimits } from '../lib/replica-lag';
import { nonRetryable } from '../lib/errors';
import { mergeMonths, monthOf, monthsBetween, type MonthRange } from '../lib/months';

/** One unit of backfill work: one instance's records in one month. */
export interface BackfillUnit {
  instance: InstanceRef;
  from: string;
  to: string;
  month: string;
}

export interface BackfillChunkInput {
  connectionProfile: string;
  table: string;
  apps: Pick<AppsSpec, 'adminTokenRef'>;
  unit: BackfillUnit;
  /** Where the previous chunk of this unit stopped (null: from the start of the unit). */
  cursor: RecordCursor | null;
  batchSize: number;
  /** Rows this call copies before it returns, so the workflow can report progress. */
  chunkRows: number;
  /** Upper bound of rows/s for this call (0: unbounded). */
  maxRowsPerSecond: number;
  throttleWriteP99Ms: number;
  dryRun: boolean;
  /** Pause while a standby lags or a slot retains more WAL than this (absent/0: no limit). */
  replicaLag?: ReplicaLagLimits;
}

export interface BackfillChunkResult {
  rows: number;
  written: number;
  skippedStale: number;
  skippedDeleted: number;
  partitionsCreated: string[];
  /** Null when the unit is complete. */
  nextCursor: RecordCursor | null;
  /** The heartbeat checkpoint this attempt resumed from (a retry after a crash), if any. */
  resumedFrom: RecordCursor | null;
  throttledMs: number;
  ms: number;
}

export interface Checkpoint {
  cursor: RecordCursor | null;
  rows: number;
  written: number;
  skippedStale: number;
  skippedDeleted: number;
  partitionsCreated: string[];
  /** Why the copy is paused right now (replica lag), shown in the pending activity's details. */
  pausedBecause?: string;
}

export function createBackfillActivities(deps: ActivityDeps) {
  return {
    /**
     * Copies up to `chunkRows` records of one unit (instance × month) from the instance's admin
     * export into Postgres: the export streamed as COPY text into a staging table, applied in
     * slabs of `batchSize` by one statement each, guarded by updated_at and tombstones (or, for
     * an app without the stream, JSON pages and batched upserts with the same guards); missing
     * partitions created, throttled when the app's writes slow down or dual-write fails.
     * Heartbeats its cursor after every slab; a retry resumes from the last heartbeat.
     * With dryRun it reads and counts but writes nothing (the runbook's BACKFILL_DRY_RUN).
     */
    async backfillChunk(input: BackfillChunkInput): Promise<BackfillChunkResult> {
      const ctx = Context.current();
      const t0 = Date.now();
      try {
        checkLagLimits(input.replicaLag, 'backfill.replicaLag');
      } catch (err) {
        throw nonRetryable('InvalidInput', (err as Error).message);
      }
      const resumed = (ctx.info.heartbeatDetails as Checkpoint | undefined) ?? undefined;
      // A copy: the checkpoint advances, the result still names where this attempt resumed from.
      const cp: Checkpoint = resumed ? { ...resumed, partitionsCreated: [...resumed.partitionsCreated] } : { cursor: input.cursor, rows: 0, written: 0, skippedStale: 0, skippedDeleted: 0, partitionsCreated: [] };
      const client = adminClient(deps, input.apps, input.unit.instance);
      const pressure = new AppPressure(client, input.throttleWriteP99Ms);
      const pace = { throttledMs: 0 };
      /** Before the first slab and between two: the standbys' lag, a rate bound, the app's pressure. */
      const throttle = async (pendingRows = 0) => {
        pace.throttledMs += await waitForReplicas(deps.profiles.pool(input.connectionProfile), input.replicaLag, (ms) => ctx.sleep(ms), (reason) => {
          if (reason) cp.pausedBecause = reason;
          else delete cp.pausedBecause;
          ctx.heartbeat(cp);
        });
        if (input.maxRowsPerSecond > 0) {
          // Rows of a slab still being applied count: the bound is on what this call has sent.
          const due = ((cp.rows + pendingRows) / input.maxRowsPerSecond) * 1000 - (Date.now() - t0);
          if (due > 0) {
            pace.throttledMs += due;
            recordThrottlePause(input.table, 'rate_limit', due);
            await ctx.sleep(due);
          }
        }
        const pause = await pressure.backoffMs();
        if (pause > 0) {
          pace.throttledMs += pause;
          recordThrottlePause(input.table, pressure.cause, pause);
          await ctx.sleep(pause);
        }
      };
      const step = { deps, input, cp, client, throttle };
      await throttle(); // a lagging standby pauses the work before the first slab too
      // A retry resumed at the end of its share: the workflow calls again from the cursor.
      const done = input.chunkRows - cp.rows <= 0 ? false : ((await streamedChunk(step)) ?? (await pagedChunk(step)));
      return {
        rows: cp.rows,
        written: cp.written,
        skippedStale: cp.skippedStale,
        skippedDeleted: cp.skippedDeleted,
        partitionsCreated: cp.partitionsCreated,
        nextCursor: done ? null : cp.cursor,
        resumedFrom: resumed?.cursor ?? null,
        throttledMs: Math.round(pace.throttledMs),
        ms: Date.now() - t0,
      };
    },

    /**
     * Plans the backfill after dual-write is on: every instance's months (from its stats, plus
     * the current month) with their record counts, for progress totals; empty units skipped.
     */
    async planBackfill(input: { apps: Pick<AppsSpec, 'adminTokenRef'>; instances: InstanceRef[] }): Promise<{ units: (BackfillUnit & { count: number })[]; months: MonthRange[] }> {
      const units: (BackfillUnit & { count: number })[] = [];
      let months: MonthRange[] = [monthOf(new Date())];
      const perInstance: { instance: InstanceRef; client: ReturnType<typeof adminClient>; months: MonthRange[] }[] = [];
      for (const instance of input.instances) {
        const client = adminClient(deps, input.apps, instance);
        const st = await client.stats();
        Context.current().heartbeat(instance.instanceId);
        const own = st.minCreatedAt && st.maxCreatedAt ? monthsBetween(new Date(st.minCreatedAt), new Date(st.maxCreatedAt)) : [];
        months = mergeMonths(months, own);
        perInstance.push({ instance, client, months: own });
      }
      for (const p of perInstance) {
        for (const m of mergeMonths(p.months, [monthOf(new Date())])) {
          const c = await p.client.checksum(m.from, m.to);
          Context.current().heartbeat(`${p.instance.instanceId} ${m.month}`);
          if (c.count > 0) units.push({ instance: p.instance, from: m.from, to: m.to, month: m.month, count: c.count });
        }
        Context.current().heartbeat(p.instance.instanceId);
      }
      return { units, months };
    },
  };
}

interface ChunkStep {
  deps: ActivityDeps;
  input: BackfillChunkInput;
  /** Advanced and heartbeated after every slab/page written. */
  cp: Checkpoint;
  client: AdminClient;
  throttle: (pendingRows?: number) => Promise<void>;
}

function record(cp: Checkpoint, r: UpsertResult): void {
  cp.written += r.written;
  cp.skippedStale += r.skippedStale;
  cp.skippedDeleted += r.skippedDeleted;
  for (const p of r.partitionsCreated) if (!cp.partitionsCreated.includes(p)) cp.partitionsCreated.push(p);
}

/**
 * The streaming path: one export stream (COPY text) for this call's share, cut into slabs of
 * `batchSize` records, each COPY'd into a staging table and applied with one guarded statement
 * (upsertCopyText). The next slab is read from the app while one is applied. Returns whether
 * the unit is complete, or null when the instance has no export stream (the paged path then).
 */
async function streamedChunk({ deps, input, cp, client, throttle }: ChunkStep): Promise<boolean | null> {
  const ctx = Context.current();
  const abort = new AbortController();
  const onCancel = () => abort.abort();
  ctx.cancellationSignal.addEventListener('abort', onCancel);
  try {
    const body = await client.exportStream({ after: cp.cursor, limit: input.chunkRows - cp.rows, from: input.unit.from, to: input.unit.to, signal: abort.signal });
    if (!body) return null;
    const slabs = exportSlabs(body, input.batchSize);
    let next = slabs.next();
    // Two slabs in flight on two connections: one is COPY'd while the other is applied. Their
    // ids are disjoint (one stream), so they take no conflicting locks; the checkpoint advances
    // in stream order only, so a retry never skips a slab that was not applied.
    let inflight: Promise<void> | null = null;
    let applied: Promise<UpsertResult | null> | null = null;
    try {
      for (;;) {
        const it = await next;
        if (it.done) throw new Error('export stream: ended without its trailer');
        const slab = it.value;
        // Pipeline: the next slab is read from the app while this one is written to Postgres.
        next = slab.trailer ? Promise.resolve({ done: true, value: undefined }) : slabs.next();
        next.catch(() => undefined); // a failure surfaces when awaited
        applied =
          slab.rows > 0 && !input.dryRun
            ? deps.profiles.withClient(input.connectionProfile, (c) => upsertCopyText(c, slab.lines, slab.rows, { table: input.table }))
            : Promise.resolve(null);
        applied.catch(() => undefined); // awaited below, after the slab before it
        if (inflight) await inflight;
        inflight = applied.then((r: UpsertResult | null) => {
          if (r) record(cp, r);
          cp.rows += slab.rows;
          if (slab.last) cp.cursor = slab.last;
          ctx.heartbeat(cp);
        });
        inflight.catch(() => undefined);
        if (slab.trailer) {
          await inflight;
          return slab.trailer === 'end';
        }
        // A pause (replica lag, rate, app pressure) starts here: the slab in flight still lands.
        await throttle(slab.rows);
      }
    } catch (err) {
      // No apply left running behind a failed attempt.
      await Promise.allSettled([inflight, applied]);
      throw err;
    }
  } finally {
    ctx.cancellationSignal.removeEventListener('abort', onCancel);
    abort.abort(); // an unfinished stream is closed, the app stops encoding it
  }
}

/** The paged path (JSON pages of the admin export, batched upserts), for apps without the stream. */
async function pagedChunk({ deps, input, cp, client, throttle }: ChunkStep): Promise<boolean> {
  const ctx = Context.current();
  const fetchPage = (after: RecordCursor | null, limit: number) => client.exportPage({ after, limit, from: input.unit.from, to: input.unit.to });
  let limit = Math.min(input.batchSize, input.chunkRows - cp.rows);
  let page = await fetchPage(cp.cursor, limit);
  for (;;) {
    const last = page.records[page.records.length - 1];
    const cursor = last ? { createdAt: last.createdAt.toISOString(), id: last.id } : cp.cursor;
    const exhausted = page.records.length < limit || !page.nextCursor;
    const nextLimit = Math.min(input.batchSize, input.chunkRows - cp.rows - page.records.length);
    // Pipeline: the next page is read from the app while this one is written to Postgres.
    const next = !exhausted && nextLimit > 0 ? fetchPage(cursor, nextLimit) : undefined;
    next?.catch(() => undefined); // a failure surfaces when awaited below
    if (page.records.length > 0 && !input.dryRun) {
      const records = page.records;
      record(cp, await deps.profiles.withClient(input.connectionProfile, (c) => upsertRecords(c, records, { table: input.table })));
    }
    cp.rows += page.records.length;
    cp.cursor = cursor;
    ctx.heartbeat(cp);
    if (exhausted) return true;
    if (!next) return false; // this call's share (chunkRows) is done; the workflow calls again
    await throttle();
    limit = nextLimit;
    page = await next;
  }
}
