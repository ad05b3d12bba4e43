import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { createBackfillActivities, type BackfillChunkResult, type BackfillUnit } from '../activities/production/backfill';
import type { ActivityDeps } from '../activities';
import type { InstanceRef } from '../activities/lib/admin-client';
import { AdminClient } from '../activities/lib/admin-client';
import type { RecordCursor, MemoryRecord } from '../src/memory-layer/record';
import type { RunningApps } from '../test/helpers/app';
import { runActivity, timed, rowsPerSecond, type BenchDatabase } from './env';
import { parseProductionInput } from '../workflows/production-input';

/** The workflow's defaults (workflows/production-input.ts): what an operator gets unless they tune it. */
const DEFAULTS = parseProductionInput({}).backfill;
export const DEFAULT_BATCH_SIZE = DEFAULTS.batchSize;
export const DEFAULT_CHUNK_ROWS = DEFAULTS.chunkRows;

export function instanceRefs(apps: RunningApps): InstanceRef[] {
  return apps.instances.map((i) => ({ instanceId: i.instanceId, adminUrl: i.url }));
}

/** The units the workflow would plan: instance × month with records, from the real admin API. */
export async function planUnits(deps: ActivityDeps, instances: InstanceRef[]): Promise<(BackfillUnit & { count: number })[]> {
  const acts = createBackfillActivities(deps);
  const plan = await runActivity(acts.planBackfill, { apps: { adminTokenRef: 'default' }, instances });
  return plan.units;
}

/**
 * Our backfill, one lane (the single-stream comparison): every unit chunk by chunk through
 * `backfillChunk` exactly as the workflow calls it, unthrottled.
 */
export async function runOurBackfill(deps: ActivityDeps, units: BackfillUnit[], opts: { batchSize?: number; chunkRows?: number } = {}): Promise<{ rows: number; written: number }> {
  const acts = createBackfillActivities(deps);
  let rows = 0;
  let written = 0;
  for (const unit of units) {
    let cursor: RecordCursor | null = null;
    for (;;) {
      const r: BackfillChunkResult = await runActivity(acts.backfillChunk, {
        connectionProfile: 'default',
        table: 'memory_records',
        apps: { adminTokenRef: 'default' },
        unit,
        cursor,
        batchSize: opts.batchSize ?? DEFAULT_BATCH_SIZE,
        chunkRows: opts.chunkRows ?? DEFAULT_CHUNK_ROWS,
        maxRowsPerSecond: 0,
        throttleWriteP99Ms: 250,
        dryRun: false,
      });
      rows += r.rows;
      written += r.written;
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
    }
  }
  return { rows, written };
}

/** COPY text format: backslash, tab, newline and carriage return escaped; NULL as \N. */
function copyField(v: string | null): string {
  if (v === null) return '\\N';
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

export function copyLine(r: MemoryRecord): string {
  return [r.id, r.ownerId, r.agentId, r.kind, r.content, JSON.stringify(r.metadata ?? {}), r.createdAt.toISOString(), r.updatedAt.toISOString()]
    .map(copyField)
    .join('\t') + '\n';
}

/** The single-stream limit: the same rows through one `COPY … FROM STDIN` on one connection. */
export async function copyIn(client: PoolClient, table: string, records: MemoryRecord[]): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at) FROM STDIN`));
  // Encoded while streaming, in 64 KiB pieces: the limit pays for encoding as ours does.
  async function* lines() {
    let buf = '';
    for (const r of records) {
      buf += copyLine(r);
      if (buf.length >= 65_536) {
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  }
  await pipeline(Readable.from(lines()), stream);
}

/** Every record of the instances, read through the admin export (outside any measurement). */
export async function exportEverything(apps: RunningApps, pageSize = 5000): Promise<MemoryRecord[]> {
  const out: MemoryRecord[] = [];
  for (const ref of instanceRefs(apps)) {
    const client = new AdminClient(ref, apps.adminToken);
    let after: RecordCursor | null = null;
    for (;;) {
      const page = await client.exportPage({ after, limit: pageSize });
      out.push(...page.records);
      if (!page.nextCursor || page.records.length === 0) break;
      after = page.nextCursor;
    }
  }
  return out;
}

export interface B1Figures {
  rows: number;
  oursRowsPerSec: number;
  copyRowsPerSec: number;
  oursMs: number;
  copyMs: number;
  /** The admin export alone, pages of the backfill's batch size: the read side of ours. */
  exportMs: number;
}

/**
 * B1: ours fills `ours.pool`'s memory_records from the apps; the limit COPYs the same rows into
 * `limitDb`'s memory_records (same schema, partitions created up front, outside the timing).
 */
export async function measureB1(deps: ActivityDeps, apps: RunningApps, limitDb: BenchDatabase, months: string[]): Promise<B1Figures> {
  const instances = instanceRefs(apps);
  const units = await planUnits(deps, instances);
  const ours = await timed(() => runOurBackfill(deps, units));
  const exported = await timed(() => exportEverything(apps, DEFAULT_BATCH_SIZE));
  const records = exported.result;
  await limitDb.pool.query(`SELECT create_monthly_partition(m::date) FROM unnest($1::date[]) m`, [months]);
  const c = await limitDb.pool.connect();
  let copyMs: number;
  try {
    copyMs = (await timed(() => copyIn(c, 'memory_records', records))).ms;
  } finally {
    c.release();
  }
  const n = await limitDb.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM memory_records');
  if (Number(n.rows[0].n) !== records.length) throw new Error(`B1: COPY loaded ${n.rows[0].n} rows, expected ${records.length}`);
  if (ours.result.rows !== records.length) throw new Error(`B1: our backfill read ${ours.result.rows} rows, the instances hold ${records.length}`);
  return { rows: records.length, oursRowsPerSec: rowsPerSecond(ours.result.rows, ours.ms), copyRowsPerSec: rowsPerSecond(records.length, copyMs), oursMs: ours.ms, copyMs, exportMs: exported.ms };
}
