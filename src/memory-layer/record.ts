/**
 * The record model of `memory_records` (see migrations/002_partitions.sql).
 * `created_at` is the partition key; `updated_at` is the version guard: a write carrying an
 * older `updated_at` never overwrites a newer one.
 */
export interface MemoryRecord {
  id: string; // uuid
  ownerId: string;
  agentId: string | null;
  kind: string;
  content: string;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

/** Where records are ordered for export and back-fill cursors: (created_at, id). */
export interface RecordCursor {
  createdAt: string; // ISO-8601
  id: string;
}
