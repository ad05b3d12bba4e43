import { Context } from '@temporalio/activity';
import { escapeIdentifier } from 'pg';
import type { ActivityDeps } from '../index';
import { addChecksums, rangeChecksumSql, type Checksum } from '../../src/memory-layer/checksum';
import type { MemoryRecord, RecordCursor } from '../../src/memory-layer/record';
import { rowToRecord, upsertRecords } from '../../src/memory-layer/storage/pg-store';
import { adminClient, type AppsSpec } from './instances';
import { listFleet } from '../../src/memory-layer/fleet';
import { HEARTBEAT_TTL_MS } from '../../src/shared/pg-catalog';
import type { AdminClient, InstanceRef } from '../lib/admin-client';
import type { MonthRange } from '../lib/months';

/** One month of the production cutover's verify: the memory store against Postgres, with drift and repair (not the conversion's ShadowMonthParity). */
export interface MonthParity {
  month: string;
  memory: Checksum;
  postgres: Checksum;
  /** Checksums equal, or every difference is a write still in flight (newer than the cutoff). */
  match: boolean;
  /**
   * Differences older than the cutoff: real drift. `stale` counts a Postgres row with an older
   * updated_at, and one with the same updated_at but other content (any column: every row's
   * full content is compared, not only its version).
   */
  drift: { missing: number; stale: number; extra: number };
  /** Rows written or removed in Postgres by the repair. */
  repaired: number;
  /** Differences ignored because they were newer than the cutoff (writes in flight). */
  inFlight: number;
  /**
   * Postgres rows no listed instance holds that were kept because a fleet member outside the
   * run's list holds them, or could not be asked (deleteExtras never deletes on absence alone
   * while an unlisted member may have written them).
   */
  keptForUnlisted?: number;
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
   * Without it, only rows a memory store remembers deleting are removed (a delete whose
   * Postgres half failed): that is positive evidence, whichever store is primary.
   */
  deleteExtras: boolean;
  /**
   * How long to wait before looking at differing rows again (default 2000 ms): a write in
   * flight between the stores has landed by then. 0 when no one writes.
   */
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

/** Fresh versions of `ids` on both sides (and Postgres tombstones). */
export async function lookAgain(
  deps: ActivityDeps,
  input: Pick<VerifyMonthInput, 'connectionProfile' | 'table'>,
  clients: AdminClient[],
  ids: string[],
): Promise<{ pg: Map<string, number>; mem: Map<string, MemoryRecord>; tombstoned: Set<string>; memDeleted: Set<string>; quarantined: Set<string> }> {
  const pool = deps.profiles.pool(input.connectionProfile);
  const pg = new Map<string, number>();
  const tombstoned = new Set<string>();
  const mem = new Map<string, MemoryRecord>();
  const memDeleted = new Set<string>();
  const quarantined = new Set<string>();
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const r = await pool.query<{ id: string; updated_at: Date }>(`SELECT id::text AS id, updated_at FROM ${escapeIdentifier(input.table)} WHERE id = ANY($1::uuid[])`, [chunk]);
    for (const row of r.rows) pg.set(row.id, Math.max(pg.get(row.id) ?? 0, row.updated_at.getTime()));
    const t = await pool.query<{ id: string }>(`SELECT id::text AS id FROM memory_record_tombstones WHERE id = ANY($1::uuid[])`, [chunk]);
    for (const row of t.rows) tombstoned.add(row.id);
  }
  for (const c of clients) {
    for (let i = 0; i < ids.length; i += 100) {
      const found = await c.lookup(ids.slice(i, i + 100));
      for (const r of found.records) {
        const prev = mem.get(r.id);
        if (!prev || prev.updatedAt < r.updatedAt) mem.set(r.id, r);
      }
      for (const id of found.deleted) memDeleted.add(id);
      for (const id of found.quarantined) quarantined.add(id);
    }
  }
  return { pg, mem, tombstoned, memDeleted, quarantined };
}

const FULL_ROWS_SQL = (table: string) =>
  `SELECT id::text AS id, owner_id, agent_id, kind, content, metadata, created_at, updated_at FROM ${table}`;

/** A record's full content, canonical (metadata keys sorted at every depth: jsonb reorders them). */
export function contentKey(r: MemoryRecord): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify([r.id, r.ownerId, r.agentId, r.kind, r.content, canon(r.metadata ?? {}), r.createdAt.getTime(), r.updatedAt.getTime()]);
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

      // Both sides at once: the Postgres scan and every instance's checksum.
      const [pgSum, ...memSums] = await Promise.all([
        pool.query<{ count: string; sum: string }>(rangeChecksumSql(table), [input.range.from, input.range.to]),
        ...clients.map((c) => c.checksum(input.range.from, input.range.to)),
      ]);
      const postgres: Checksum = { count: Number(pgSum.rows[0].count), sum: pgSum.rows[0].sum };
      const memory = memSums.reduce<Checksum>((a, b) => addChecksums(a, b), { count: 0, sum: '0' });
      beat();
      const result: MonthParity = { month: input.range.month, memory, postgres, match: true, drift: { missing: 0, stale: 0, extra: 0 }, repaired: 0, inFlight: 0 };
      if (memory.count === postgres.count && memory.sum === postgres.sum) return result;

      // Row level. Postgres first: while memory is primary every Postgres write follows its
      // memory write, so a row read here is already in memory (or deleted there since).
      const pgRows = await pool.query(`${FULL_ROWS_SQL(table)} WHERE created_at >= $1 AND created_at < $2`, [input.range.from, input.range.to]);
      const pgFull = new Map(pgRows.rows.map((r) => [r.id as string, rowToRecord(r)]));
      const pg = new Map([...pgFull].map(([id, r]) => [id, r.updatedAt.getTime()]));
      const mem = new Map<string, MemoryRecord>();
      for (const c of clients) for (const r of await exportAll(c, input.range, beat)) mem.set(r.id, r);

      // Suspects: memory holds a version Postgres lacks, or Postgres holds a row no memory
      // store has. Either may be a write in flight between the two stores. And rows whose
      // version agrees but whose content does not (a checksum differs for a reason).
      const behind = [...mem.values()].filter((r) => (pg.get(r.id) ?? -1) < r.updatedAt.getTime());
      const extras = [...pg.keys()].filter((id) => !mem.has(id));
      const divergent = [...mem.values()].filter((r) => pg.get(r.id) === r.updatedAt.getTime() && contentKey(pgFull.get(r.id)!) !== contentKey(r));
      if (behind.length + extras.length + divergent.length === 0) return result;

      // Look again after a pause: a write in flight has landed by then (or changed again);
      // only a difference that stands still on both sides is drift.
      await ctx.sleep(input.graceMs ?? 2000);
      const again = await lookAgain(deps, input, clients, [...behind.map((r) => r.id), ...extras, ...divergent.map((r) => r.id)]);
      beat();
      const toOverwrite: MemoryRecord[] = [];
      if (divergent.length) {
        const fresh = await pool.query(`${FULL_ROWS_SQL(table)} WHERE id = ANY($1::uuid[])`, [divergent.map((r) => r.id)]);
        const pg2 = new Map(fresh.rows.map((r) => [r.id as string, rowToRecord(r)]));
        for (const r of divergent) {
          const m2 = again.mem.get(r.id);
          const p2 = pg2.get(r.id);
          if (!m2 || !p2 || again.tombstoned.has(r.id)) continue; // settled (deleted)
          if (m2.updatedAt.getTime() !== r.updatedAt.getTime() || p2.updatedAt.getTime() !== r.updatedAt.getTime()) {
            result.inFlight++; // written again since: the version guard decides
            continue;
          }
          if (contentKey(p2) === contentKey(m2)) continue;
          result.drift.stale++;
          toOverwrite.push(m2);
        }
      }
      const toUpsert: MemoryRecord[] = [];
      for (const r of behind) {
        const m2 = again.mem.get(r.id);
        const p2 = again.pg.get(r.id);
        if (!m2 || again.tombstoned.has(r.id) || (p2 !== undefined && p2 >= m2.updatedAt.getTime())) continue; // settled
        if (m2.updatedAt.getTime() !== r.updatedAt.getTime()) {
          result.inFlight++;
          continue;
        }
        if (p2 === undefined) result.drift.missing++;
        else result.drift.stale++;
        toUpsert.push(m2);
      }
      const toDelete: string[] = [];
      for (const id of extras) {
        const p2 = again.pg.get(id);
        if (p2 === undefined || again.mem.has(id)) continue; // settled
        // An instance holds it in quarantine (Postgres' copy may be all that can be kept): never a stray.
        if (again.quarantined.has(id)) continue;
        if (!input.deleteExtras && !again.memDeleted.has(id)) continue; // may be a write only Postgres acknowledged
        if (p2 !== pg.get(id)) {
          result.inFlight++;
          continue;
        }
        result.drift.extra++;
        toDelete.push(id);
      }
      const kept = await heldByUnlisted(deps, input, toDelete.filter((id) => !again.memDeleted.has(id)));
      if (kept.size > 0) {
        result.keptForUnlisted = kept.size;
        result.drift.extra -= kept.size;
        toDelete.splice(0, toDelete.length, ...toDelete.filter((id) => !kept.has(id)));
      }
      result.match = result.drift.missing + result.drift.stale + result.drift.extra === 0;
      if (input.repair && !result.match) {
        for (let i = 0; i < toUpsert.length; i += 1000) {
          const batch = toUpsert.slice(i, i + 1000);
          const r = await deps.profiles.withClient(input.connectionProfile, (c) => upsertRecords(c, batch, { table: input.table }));
          result.repaired += r.written;
          beat();
        }
        for (const r of toOverwrite) {
          // Same version, other content: the version guard cannot settle it; memory is the truth here.
          const u = await pool.query(
            `UPDATE ${table} SET owner_id = $3, agent_id = $4, kind = $5, content = $6, metadata = $7::jsonb WHERE id = $1::uuid AND updated_at = $2`,
            [r.id, r.updatedAt, r.ownerId, r.agentId, r.kind, r.content, JSON.stringify(r.metadata ?? {})],
          );
          result.repaired += u.rowCount ?? 0;
        }
        for (const id of toDelete) {
          // Only the version seen twice: a row written since is left alone.
          const d = await pool.query(`DELETE FROM ${table} WHERE id = $1::uuid AND updated_at = $2`, [id, new Date(again.pg.get(id)!)]);
          result.repaired += d.rowCount ?? 0;
        }
      }
      return result;
    },
  };
}

/**
 * Of `ids` (Postgres rows no listed instance holds, with no evidence of a delete), those that a
 * fleet member outside the run's list holds (an instance started or back since preflight) —
 * or all of them when such a member cannot be asked: absence is no proof then.
 */
async function heldByUnlisted(deps: ActivityDeps, input: VerifyMonthInput, ids: string[]): Promise<Set<string>> {
  const kept = new Set<string>();
  if (ids.length === 0) return kept;
  const listed = new Set(input.instances.map((i) => i.instanceId));
  const others = (await listFleet(deps.profiles.pool(input.connectionProfile), input.table, { heartbeatTtlMs: HEARTBEAT_TTL_MS })).filter((m) => !listed.has(m.instanceId));
  for (const m of others) {
    if (!m.adminUrl) return new Set(ids);
    try {
      const client = adminClient(deps, input.apps, { instanceId: m.instanceId, adminUrl: m.adminUrl }, 5_000);
      for (let i = 0; i < ids.length; i += 100) {
        const found = await client.lookup(ids.slice(i, i + 100));
        for (const r of found.records) kept.add(r.id);
        for (const id of found.quarantined) kept.add(id);
      }
    } catch {
      return new Set(ids);
    }
  }
  return kept;
}
