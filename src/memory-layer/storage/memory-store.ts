import type { MemoryRecord, RecordCursor } from '../record';
import { rowValue, type Checksum } from '../checksum';
import { whyUnstorable } from '../storable';
import type { ExportOptions, ExportableStore, ExportPage, PutOutcome, RangeFilter, RecordStore, StoreStats } from './store';

interface Key {
  t: number; // createdAt, ms since epoch
  id: string;
}

const cmp = (a: Key, b: Key): number => (a.t !== b.t ? a.t - b.t : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The in-process store (the runbook's Phase 2 "memory" persistence): one instance's records in
 * a Map, plus a sorted (createdAt, id) index so export pages, range checksums and stats do not
 * sort on every call. Records are copied in and out so callers cannot mutate stored state.
 * Deleted ids are remembered (ids are uuids, never reused) so a late, reordered `put` cannot
 * bring a record back. Each record's checksum value (checksum.ts: an md5 per row) is computed
 * once, when it is written, so a range checksum — what every verification asks of every
 * instance — is a sum over the index, not an md5 of every row at read time.
 *
 * QUARANTINE. A record Postgres cannot store (storable.ts: NUL, a lone surrogate — refused at
 * the API now, but held from before that rule) is kept and served by the records API as
 * before, but the admin views a cutover reads — export pages and stream, range checksums, the
 * newest records, records by id, stats' count — leave it out, so one such record never stalls a
 * backfill or a verify. `quarantined()` lists them (GET /admin/quarantine): the run names them
 * in its history and waits for an operator to skip them before the switch.
 */
export class MemoryStore implements RecordStore, ExportableStore {
  readonly name = 'memory' as const;
  private readonly byId = new Map<string, MemoryRecord>();
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly deleted = new Map<string, number>();
  /** rowValue of each stored record, kept with it. */
  private readonly values = new Map<string, bigint>();
  /** Sorted by (createdAt, id); createdAt never changes after a create. */
  private readonly order: Key[] = [];
  /** Records Postgres cannot store: id → the field and why (see QUARANTINE above). */
  private readonly unstorable = new Map<string, { field: string; reason: string; createdAt: Date }>();

  async get(id: string): Promise<MemoryRecord | null> {
    return this.getSync(id);
  }

  getSync(id: string): MemoryRecord | null {
    const r = this.byId.get(id);
    return r ? copy(r) : null;
  }

  async getMany(ids: readonly string[]): Promise<MemoryRecord[]> {
    const out: MemoryRecord[] = [];
    for (const id of ids) {
      const r = this.byId.get(id);
      if (r) out.push(copy(r));
    }
    return out;
  }

  isDeleted(id: string): boolean {
    return this.deleted.has(id);
  }

  /** Forgets deleted ids deleted before `beforeMs` (ms since epoch); returns how many. */
  pruneDeleted(beforeMs: number): number {
    let n = 0;
    for (const [id, at] of this.deleted) {
      if (at < beforeMs) {
        this.deleted.delete(id);
        n++;
      }
    }
    return n;
  }

  /** The ids this store remembers deleting, with when (ms since epoch): a copy. */
  deletedEntries(): [string, number][] {
    return [...this.deleted];
  }

  get deletedCount(): number {
    return this.deleted.size;
  }

  async put(record: MemoryRecord): Promise<PutOutcome> {
    return this.putSync(record);
  }

  async create(record: MemoryRecord): Promise<PutOutcome> {
    if (this.deleted.has(record.id)) return 'deleted';
    return this.byId.has(record.id) ? 'taken' : this.putSync(record);
  }

  putSync(record: MemoryRecord): PutOutcome {
    if (this.deleted.has(record.id)) return 'deleted';
    const prev = this.byId.get(record.id);
    if (prev) {
      // The partition key is immutable; a differing one means two records share an id.
      if (prev.createdAt.getTime() !== record.createdAt.getTime()) return 'taken';
      if (prev.updatedAt.getTime() >= record.updatedAt.getTime()) return 'stale';
      if (prev.ownerId !== record.ownerId) this.unindexOwner(prev);
    } else {
      this.insertKey({ t: record.createdAt.getTime(), id: record.id });
    }
    this.byId.set(record.id, copy(record));
    this.values.set(record.id, rowValue(record));
    const bad = whyUnstorable(record);
    if (bad) this.unstorable.set(record.id, { ...bad, createdAt: new Date(record.createdAt.getTime()) });
    else this.unstorable.delete(record.id);
    let owned = this.byOwner.get(record.ownerId);
    if (!owned) this.byOwner.set(record.ownerId, (owned = new Set()));
    owned.add(record.id);
    return 'written';
  }

  async delete(id: string, deletedAt: Date): Promise<Date | null> {
    const prev = this.byId.get(id);
    this.deleted.set(id, deletedAt.getTime());
    if (!prev) return null;
    this.byId.delete(id);
    this.values.delete(id);
    this.unstorable.delete(id);
    this.unindexOwner(prev);
    const i = this.indexOf({ t: prev.createdAt.getTime(), id });
    if (i < this.order.length && cmp(this.order[i], { t: prev.createdAt.getTime(), id }) === 0) this.order.splice(i, 1);
    return new Date(prev.createdAt.getTime());
  }

  async listByOwner(ownerId: string, limit: number): Promise<MemoryRecord[]> {
    const ids = this.byOwner.get(ownerId);
    if (!ids) return [];
    const rows = [...ids].map((id) => this.byId.get(id)!);
    rows.sort((a, b) => cmp({ t: a.createdAt.getTime(), id: a.id }, { t: b.createdAt.getTime(), id: b.id }));
    return rows.slice(0, limit).map(copy);
  }

  exportPage(after: RecordCursor | null, limit: number, range: RangeFilter = {}, opts: ExportOptions = {}): ExportPage {
    let i = 0;
    if (after) {
      const k = { t: Date.parse(after.createdAt), id: after.id };
      i = this.indexOf(k);
      if (i < this.order.length && cmp(this.order[i], k) === 0) i++; // strictly after the cursor
    }
    if (range.from) i = Math.max(i, this.indexOf({ t: range.from.getTime(), id: '' }));
    const end = range.to ? this.indexOf({ t: range.to.getTime(), id: '' }) : this.order.length;
    // Quarantined records are stepped over (the cursor moves past them).
    const keys: Key[] = [];
    let j = i;
    for (; j < end && keys.length < limit; j++) if (!this.unstorable.has(this.order[j].id)) keys.push(this.order[j]);
    const records = opts.shared ? keys.map((k) => this.byId.get(k.id)!) : keys.map((k) => copy(this.byId.get(k.id)!));
    const last = keys[keys.length - 1];
    while (j < end && this.unstorable.has(this.order[j].id)) j++; // only quarantined ones left?
    const more = j < end;
    return { records, nextCursor: more && last ? { createdAt: new Date(last.t).toISOString(), id: last.id } : null };
  }

  /** The newest `limit` records (by created_at, id) of the range, newest first (quarantined ones left out). */
  newest(limit: number, range: RangeFilter = {}): MemoryRecord[] {
    const start = range.from ? this.indexOf({ t: range.from.getTime(), id: '' }) : 0;
    const end = range.to ? this.indexOf({ t: range.to.getTime(), id: '' }) : this.order.length;
    const out: MemoryRecord[] = [];
    for (let i = end - 1; i >= start && out.length < limit; i--) {
      const id = this.order[i].id;
      if (!this.unstorable.has(id)) out.push(copy(this.byId.get(id)!));
    }
    return out;
  }

  /** Count and checksum of the range, without quarantined records (what Postgres can hold). */
  checksum(range: RangeFilter = {}): Checksum {
    const start = range.from ? this.indexOf({ t: range.from.getTime(), id: '' }) : 0;
    const end = range.to ? this.indexOf({ t: range.to.getTime(), id: '' }) : this.order.length;
    let sum = 0n;
    let count = 0;
    for (let i = start; i < end; i++) {
      const id = this.order[i].id;
      if (this.unstorable.size && this.unstorable.has(id)) continue;
      sum += this.values.get(id)!;
      count++;
    }
    return { count, sum: sum.toString() };
  }

  stats(): StoreStats {
    const n = this.order.length;
    return {
      count: n - this.unstorable.size,
      minCreatedAt: n ? new Date(this.order[0].t) : null,
      maxCreatedAt: n ? new Date(this.order[n - 1].t) : null,
    };
  }

  /** Is this record quarantined (Postgres cannot store it)? */
  isQuarantined(id: string): boolean {
    return this.unstorable.has(id);
  }

  /** The quarantined records (at most `limit`, by created_at), with the field and why, and how many there are. */
  quarantined(limit = 1000, after: RecordCursor | null = null): { total: number; records: { id: string; createdAt: string; updatedAt: string; field: string; reason: string }[] } {
    // Oldest first by (createdAt, id); `after` (the last one of a previous answer) pages on.
    const from = after ? { t: new Date(after.createdAt).getTime(), id: after.id } : null;
    const records = [...this.unstorable]
      .filter(([id, q]) => !from || q.createdAt.getTime() > from.t || (q.createdAt.getTime() === from.t && id > from.id))
      .sort((a, b) => a[1].createdAt.getTime() - b[1].createdAt.getTime() || (a[0] < b[0] ? -1 : 1))
      .slice(0, limit)
      .map(([id, q]) => ({ id, createdAt: q.createdAt.toISOString(), updatedAt: (this.byId.get(id)?.updatedAt ?? q.createdAt).toISOString(), field: q.field, reason: q.reason }));
    return { total: this.unstorable.size, records };
  }

  get size(): number {
    return this.byId.size;
  }

  /** First index whose key is >= k (binary search). */
  private indexOf(k: Key): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(this.order[mid], k) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insertKey(k: Key): void {
    const n = this.order.length;
    // New records mostly carry "now": appending is the common case.
    if (n === 0 || cmp(this.order[n - 1], k) < 0) this.order.push(k);
    else this.order.splice(this.indexOf(k), 0, k);
  }

  private unindexOwner(r: MemoryRecord): void {
    const owned = this.byOwner.get(r.ownerId);
    if (!owned) return;
    owned.delete(r.id);
    if (owned.size === 0) this.byOwner.delete(r.ownerId);
  }
}

function copy(r: MemoryRecord): MemoryRecord {
  return {
    ...r,
    metadata: structuredClone(r.metadata),
    createdAt: new Date(r.createdAt.getTime()),
    updatedAt: new Date(r.updatedAt.getTime()),
  };
}
