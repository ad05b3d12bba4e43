/**
 * What the oracle needs from a store: the records with given ids, and every id an owner has.
 * Implementations: `postgresReader` (a memory_records table) and `instancesReader` (the memory
 * stores of running instances, via their admin API).
 */
export interface StoredRecord {
  id: string;
  ownerId: string;
  kind: string;
  content: string;
  /** ISO-8601, millisecond precision. */
  createdAt: string;
  updatedAt: string;
}

export interface StoreReader {
  /** For messages: which store this is (never includes credentials). */
  readonly description: string;
  /** Every stored row whose id is in `ids` (a store holding an id twice returns both). */
  readByIds(ids: readonly string[]): Promise<StoredRecord[]>;
  /** Every id stored for any of `ownerIds`. */
  idsOfOwners(ownerIds: readonly string[]): Promise<string[]>;
  /** Releases what the reader opened itself (a pool it created); never a pool it was given. */
  close(): Promise<void>;
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
