import { escapeIdentifier, type Pool } from 'pg';
import type { MemoryRecord } from './record';
import type { MemoryStore } from './storage/memory-store';
import { TOMBSTONES_TABLE } from './storage/pg-store';
import type { ServiceMetrics } from './metrics';
import { silentLogger, type Logger } from './logger';

/** How the instance learned it had been forgotten (its own row, read by the heartbeat that brought it back). */
export interface ForgottenInfo {
  forgottenAt: string;
  forgottenBy: string;
  reason: string;
}

export interface OrphanReport {
  instanceId: string;
  /** Null while this instance has not come back from being forgotten (then nothing is counted). */
  forgotten: ForgottenInfo | null;
  /** When Postgres was last compared with memory (ISO), or null. */
  scannedAt: string | null;
  /** Records only this memory holds: Postgres has no row for the id, or an older version, and no tombstone. */
  total: number;
  records: MemoryRecord[];
  /** Deletes only this memory knows: Postgres still holds the row (not newer than the delete) and no tombstone. */
  deleted: { id: string; deletedAt: string; createdAt: string }[];
  /** Records Postgres cannot store (quarantine): held here only, never back-filled. */
  quarantined: number;
}

const BATCH = 1000;

/**
 * MEMORY-ONLY RECORDS OF A FORGOTTEN INSTANCE (issue 24). An operator may forget a silent instance
 * (fleet.ts, forgetInstance): the run stops waiting for it and whatever only its memory held is
 * given up. When that instance comes back (its heartbeat reaches Postgres again) it never drops
 * them silently: the heartbeat that brings it back reads that it was forgotten (by whom, why),
 * and this compares its memory with Postgres — every record Postgres lacks or holds older (and
 * has not tombstoned), every delete Postgres has not seen — and reports them: a log line
 * (warn), the gauge memory_orphan_records{kind}, and GET /admin/orphans (compared again on each
 * call, so a back-fill shows). `cutover orphans backfill --instance ID` writes them to Postgres
 * through the guarded writes every path shares (an older version never over a newer one, a
 * tombstoned id never again). The deleted ids are captured when the instance comes back, before
 * any mode it applies could prune them.
 */
export class Orphans {
  private forgotten: ForgottenInfo | null = null;
  private deletedAtReturn: [string, number][] = [];
  private scanning: Promise<OrphanReport> | null = null;
  private readonly log: Logger;

  constructor(
    private readonly deps: { instanceId: string; pool: Pool; table: string; memory: MemoryStore; metrics: ServiceMetrics; logger?: Logger },
  ) {
    this.log = deps.logger ?? silentLogger;
    for (const kind of ['record', 'delete', 'quarantined']) deps.metrics.orphans.set({ kind }, 0);
  }

  /** The heartbeat saw this instance come back after being forgotten: capture, compare, report. */
  cameBack(info: ForgottenInfo): void {
    this.forgotten = info;
    const seen = new Set(this.deletedAtReturn.map(([id]) => id));
    for (const e of this.deps.memory.deletedEntries()) if (!seen.has(e[0])) this.deletedAtReturn.push(e);
    void this.scan().then(
      (r) => {
        const fields = { forgottenAt: info.forgottenAt, forgottenBy: info.forgottenBy, reason: info.reason, records: r.total, deletes: r.deleted.length, quarantined: r.quarantined };
        if (r.total + r.deleted.length + r.quarantined === 0) this.log.info('back after being forgotten: no memory-only record', fields);
        else
          this.log.warn(
            `back after being forgotten: ${r.total} record(s) and ${r.deleted.length} delete(s) only this memory holds (${r.quarantined} quarantined); ` +
              `listed at GET /admin/orphans, back-fill them with: cutover orphans backfill --instance ${this.deps.instanceId}`,
            fields,
          );
      },
      (err: Error) => this.log.error('back after being forgotten, but memory could not be compared with Postgres; GET /admin/orphans retries', { error: err.message }),
    );
  }

  /** Compares memory with Postgres now (coalesced) when this instance came back from being forgotten. */
  report(limit: number): Promise<OrphanReport> {
    return this.scan().then((r) => ({ ...r, records: r.records.slice(0, limit), deleted: r.deleted.slice(0, limit) }));
  }

  private scan(): Promise<OrphanReport> {
    if (!this.forgotten) return Promise.resolve(this.empty());
    this.scanning ??= this.scanOnce().finally(() => (this.scanning = null));
    return this.scanning;
  }

  private empty(): OrphanReport {
    return { instanceId: this.deps.instanceId, forgotten: null, scannedAt: null, total: 0, records: [], deleted: [], quarantined: 0 };
  }

  private async scanOnce(): Promise<OrphanReport> {
    const { memory, pool } = this.deps;
    const t = escapeIdentifier(this.deps.table);
    const out: OrphanReport = { ...this.empty(), forgotten: this.forgotten, scannedAt: new Date().toISOString() };
    let after = null;
    do {
      const page = memory.exportPage(after, BATCH);
      after = page.nextCursor;
      if (page.records.length === 0) break;
      const ids = page.records.map((r) => r.id);
      const pg = await pool.query<{ id: string; updated_at: Date }>(`SELECT id::text, updated_at FROM ${t} WHERE id = ANY($1::uuid[])`, [ids]);
      const dead = await pool.query<{ id: string }>(`SELECT id::text FROM ${TOMBSTONES_TABLE} WHERE id = ANY($1::uuid[])`, [ids]);
      const newest = new Map(pg.rows.map((r) => [r.id, r.updated_at.getTime()]));
      const tomb = new Set(dead.rows.map((r) => r.id));
      for (const r of page.records) {
        if (tomb.has(r.id)) continue;
        const at = newest.get(r.id);
        if (at === undefined || at < r.updatedAt.getTime()) out.records.push(r);
      }
    } while (after);
    const gone = this.deletedAtReturn.filter(([id]) => !memory.getSync(id));
    for (let i = 0; i < gone.length; i += BATCH) {
      const ids = gone.slice(i, i + BATCH).map(([id]) => id);
      const ats = gone.slice(i, i + BATCH).map(([, at]) => new Date(at).toISOString());
      // Only a row not newer than the delete: a later write elsewhere is not undone by it.
      const pg = await pool.query<{ id: string; created_at: Date }>(
        `SELECT t.id::text, t.created_at FROM ${t} t JOIN unnest($1::uuid[], $2::timestamptz[]) AS g(id, deleted_at) ON g.id = t.id
          WHERE t.updated_at <= g.deleted_at AND NOT EXISTS (SELECT 1 FROM ${TOMBSTONES_TABLE} d WHERE d.id = t.id)`,
        [ids, ats],
      );
      const when = new Map(gone.slice(i, i + BATCH));
      for (const r of pg.rows) out.deleted.push({ id: r.id, deletedAt: new Date(when.get(r.id)!).toISOString(), createdAt: r.created_at.toISOString() });
    }
    out.total = out.records.length;
    out.quarantined = memory.quarantined(0).total;
    this.deps.metrics.orphans.set({ kind: 'record' }, out.total);
    this.deps.metrics.orphans.set({ kind: 'delete' }, out.deleted.length);
    this.deps.metrics.orphans.set({ kind: 'quarantined' }, out.quarantined);
    return out;
  }
}
