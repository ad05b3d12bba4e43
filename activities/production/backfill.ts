import { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../index';
import type { RecordCursor } from '../../src/memory-layer/record';
import { upsertRecords } from '../../src/memory-layer/storage/pg-store';
import { adminClient, type AppsSpec } from './instances';
import type { InstanceRef } from '../lib/admin-client';
import { AppPressure } from '../lib/throttle';
import { recordThrottlePause } from '../lib/metrics';
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

interface Checkpoint {
  cursor: RecordCursor | null;
  rows: number;
  written: number;
  skippedStale: number;
  skippedDeleted: number;
  partitionsCreated: string[];
}

export function createBackfillActivities(deps: ActivityDeps) {
  return {
    /**
     * Copies up to `chunkRows` records of one unit (instance × month) from the instance's admin
     * export into Postgres: batched upserts guarded by updated_at and tombstones, missing
     * partitions created, throttled when the app's writes slow down or dual-write fails.
     * Heartbeats its cursor after every batch; a retry resumes from the last heartbeat.
     * With dryRun it reads and counts but writes nothing (the runbook's BACKFILL_DRY_RUN).
     */
    async backfillChunk(input: BackfillChunkInput): Promise<BackfillChunkResult> {
      const ctx = Context.current();
      const t0 = Date.now();
      const resumed = (ctx.info.heartbeatDetails as Checkpoint | undefined) ?? undefined;
      const cp: Checkpoint = resumed ?? { cursor: input.cursor, rows: 0, written: 0, skippedStale: 0, skippedDeleted: 0, partitionsCreated: [] };
      const client = adminClient(deps, input.apps, input.unit.instance);
      const pressure = new AppPressure(client, input.throttleWriteP99Ms);
      let throttledMs = 0;
      let done = false;
      const fetchPage = (after: RecordCursor | null, limit: number) => client.exportPage({ after, limit, from: input.unit.from, to: input.unit.to });
      let limit = Math.min(input.batchSize, input.chunkRows - cp.rows);
      let page = limit > 0 ? await fetchPage(cp.cursor, limit) : { records: [], nextCursor: null };
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
          const r = await deps.profiles.withClient(input.connectionProfile, (c) => upsertRecords(c, records, { table: input.table }));
          cp.written += r.written;
          cp.skippedStale += r.skippedStale;
          cp.skippedDeleted += r.skippedDeleted;
          for (const p of r.partitionsCreated) if (!cp.partitionsCreated.includes(p)) cp.partitionsCreated.push(p);
        }
        cp.rows += page.records.length;
        cp.cursor = cursor;
        ctx.heartbeat(cp);
        if (exhausted) {
          done = true;
          break;
        }
        if (!next) break; // this call's share (chunkRows) is done; the workflow calls again
        // Throttle: a fixed rate bound, and back-off while the app is under pressure.
        if (input.maxRowsPerSecond > 0) {
          const due = (cp.rows / input.maxRowsPerSecond) * 1000 - (Date.now() - t0);
          if (due > 0) {
            throttledMs += due;
            recordThrottlePause(input.table, 'rate_limit', due);
            await ctx.sleep(due);
          }
        }
        const pause = await pressure.backoffMs();
        if (pause > 0) {
          throttledMs += pause;
          recordThrottlePause(input.table, pressure.cause, pause);
          await ctx.sleep(pause);
        }
        limit = nextLimit;
        page = await next;
      }
      return {
        rows: cp.rows,
        written: cp.written,
        skippedStale: cp.skippedStale,
        skippedDeleted: cp.skippedDeleted,
        partitionsCreated: cp.partitionsCreated,
        nextCursor: done ? null : cp.cursor,
        resumedFrom: resumed?.cursor ?? null,
        throttledMs: Math.round(throttledMs),
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
