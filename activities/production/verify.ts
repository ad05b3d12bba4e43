import { Context } from '@temporalio/activity';
import { escapeIdentifier } from 'pg';
import type { ActivityDeps } from '../index';
import { addChecksums, rangeChecksumSql, type Checksum } from '../../src/memory-layer/checksum';
import type { MemoryRecord, RecordCursor } from '../../src/memory-layer/record';
import { upsertRecords } from '../../src/memory-layer/storage/pg-store';
import { adminClient, type AppsSpec } from './instances';
import type { AdminClient, InstanceRef } from '../lib/admin-client';
import type { MonthRange } from '../lib/months';

export interface MonthParity {
  month: string;
  memory: Checksum;
  postgres: Checksum;
  /** Checksums equal, or every difference is a write still in flight (newer than the cutoff). */
  match: boolean;
  /** Differences older than the cutoff: real drift. */
  drift: { missing: number; stale: number; extra: number };
  /** Rows written or removed in Postgres by the repair. */
  repaired: number;
  /** Differences ignored because they were newer than the cutoff (writes in flight). */
  inFlight: number;
}

export interface VerifyMonthInput {
  connectionProfile: string;
  table: string;
  apps: Pick<AppsSpec, 'adminTokenRef'>;
  instances: InstanceRef[];
  range: MonthRange;
  /** Repair drift: upsert missing or stale rows from the memory stores. */
  repair: boolean;
  /**
   * Also remove Postgres rows absent from every memory store. Only while memory is the
   * primary: once Postgres is primary, a row only it has may be an acknowledged write.
   */
  deleteExtras: boolean;
  /** Writes newer than (start − graceMs) may still be in flight between the stores. */
  graceMs?: number;
}

async function exportAll(client: AdminClient, range: MonthRange, heartbeat: () => void): Promise<MemoryRecord[]> {
  const out: MemoryRecord[] = [];
  let after: RecordCursor | null = null;
  for (;;) {
    const page = await client.exportPage({ after, limit: 5000, from: range.from, to: range.to });
    out.push(...page.records);
    heartbeat();
    if (!page.nextCursor || page.records.length === 0) return out;
    after = page.nextCursor;
  }
}

export function createVerifyActivities(deps: ActivityDeps) {
  return {
    /**
     * Parity of one month: count and checksum of every instance's memory store against
     * Postgres. On a mismatch, a row-level comparison separates real drift from writes in
     * flight; with `repair`, drift is repaired in Postgres (the memory stores are the truth
     * while memory is primary).
     */
    async verifyMonth(input: VerifyMonthInput): Promise<MonthParity> {
      const ctx = Context.current();
      const beat = () => ctx.heartbeat(input.range.month);
      const table = escapeIdentifier(input.table);
      const pool = deps.profiles.pool(input.connectionProfile);
      const clients = input.instances.map((i) => adminClient(deps, input.apps, i));
      const cutoff = Date.now() - (input.graceMs ?? 5000);

      const pgSum = await pool.query<{ count: string; sum: string }>(rangeChecksumSql(table), [input.range.from, input.range.to]);
      const postgres: Checksum = { count: Number(pgSum.rows[0].count), sum: pgSum.rows[0].sum };
      let memory: Checksum = { count: 0, sum: '0' };
      for (const c of clients) memory = addChecksums(memory, await c.checksum(input.range.from, input.range.to));
      beat();
      const result: MonthParity = { month: input.range.month, memory, postgres, match: true, drift: { missing: 0, stale: 0, extra: 0 }, repaired: 0, inFlight: 0 };
      if (memory.count === postgres.count && memory.sum === postgres.sum) return result;

      // Row level. Postgres first: while memory is primary every Postgres write follows its
      // memory write, so a row read here is already in memory (or deleted there since).
      const pgRows = await pool.query<{ id: string; updated_at: Date }>(
        `SELECT id::text AS id, updated_at FROM ${table} WHERE created_at >= $1 AND created_at < $2`,
        [input.range.from, input.range.to],
      );
      const pg = new Map(pgRows.rows.map((r) => [r.id, r.updated_at.getTime()]));
      const mem = new Map<string, MemoryRecord>();
      for (const c of clients) for (const r of await exportAll(c, input.range, beat)) mem.set(r.id, r);

      const toUpsert: MemoryRecord[] = [];
      const toDelete: string[] = [];
      for (const [id, r] of mem) {
        const p = pg.get(id);
        const u = r.updatedAt.getTime();
        if (p === undefined || p < u) {
          if (u >= cutoff) result.inFlight++;
          else {
            if (p === undefined) result.drift.missing++;
            else result.drift.stale++;
            toUpsert.push(r);
          }
        }
      }
      for (const [id, p] of pg) {
        if (mem.has(id) || !input.deleteExtras) continue;
        if (p >= cutoff) result.inFlight++;
        else {
          result.drift.extra++;
          toDelete.push(id);
        }
      }
      result.match = result.drift.missing + result.drift.stale + result.drift.extra === 0;
      if (input.repair && !result.match) {
        for (let i = 0; i < toUpsert.length; i += 1000) {
          const batch = toUpsert.slice(i, i + 1000);
          const r = await deps.profiles.withClient(input.connectionProfile, (c) => upsertRecords(c, batch, { table: input.table }));
          result.repaired += r.written;
          beat();
        }
        if (toDelete.length) {
          const d = await pool.query(
            `DELETE FROM ${table} WHERE id = ANY($1::uuid[]) AND created_at >= $2 AND created_at < $3 AND updated_at < $4`,
            [toDelete, input.range.from, input.range.to, new Date(cutoff)],
          );
          result.repaired += d.rowCount ?? 0;
        }
      }
      return result;
    },
  };
}
