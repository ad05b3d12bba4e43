import type { StoreName } from '../../../workflows/types';
import type { MemoryRecord, RecordCursor } from '../record';
import type { Checksum } from '../checksum';

/**
 * What every store (memory, Postgres) offers the dual store. Writes are whole-record and
 * version-guarded: `put` never replaces a record with one carrying an older or equal
 * `updatedAt`, and never brings back a deleted id. The service computes versions; stores only
 * keep the newest one they were given.
 */
export interface RecordStore {
  readonly name: StoreName;
  get(id: string): Promise<MemoryRecord | null>;
  getMany(ids: readonly string[]): Promise<MemoryRecord[]>;
  /** Version-guarded upsert of a whole record. */
  put(record: MemoryRecord): Promise<PutOutcome>;
  /**
   * `put` of a new record, refused (`taken`) when any record holds the id, whatever its
   * createdAt, also against a concurrent create of the same id by another instance.
   */
  create(record: MemoryRecord): Promise<PutOutcome>;
  /**
   * Deletes `id` and leaves a tombstone so no later `put` of it lands. `createdAt` is the
   * record's partition key when the caller knows it (a delete of a record this store never
   * saw must still leave a tombstone). Returns the deleted record's createdAt, or null when
   * the store held no such record.
   */
  delete(id: string, deletedAt: Date, createdAt?: Date): Promise<Date | null>;
  listByOwner(ownerId: string, limit: number): Promise<MemoryRecord[]>;
}

/**
 * `written`: stored; `stale`: a newer or equal version is already there; `deleted`: tombstoned
 * id; `taken`: another record (another createdAt) holds the id.
 */
export type PutOutcome = 'written' | 'stale' | 'deleted' | 'taken';

/** Range queries an instance's admin API answers from its memory store. */
export interface ExportPage {
  records: MemoryRecord[];
  nextCursor: RecordCursor | null;
}

export interface RangeFilter {
  /** Inclusive lower bound of createdAt. */
  from?: Date;
  /** Exclusive upper bound of createdAt. */
  to?: Date;
}

export interface StoreStats {
  count: number;
  minCreatedAt: Date | null;
  maxCreatedAt: Date | null;
}

export interface ExportableStore {
  exportPage(after: RecordCursor | null, limit: number, range?: RangeFilter): ExportPage;
  checksum(range?: RangeFilter): Checksum;
  stats(): StoreStats;
}
