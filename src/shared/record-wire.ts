import type { MemoryRecord } from '../memory-layer/record';

/**
 * A memory record on the wire (the memory layer's HTTP API, its admin export): MemoryRecord
 * with its timestamps as ISO-8601 strings. The service writes it, the orchestrator's admin
 * client reads it.
 */
export type RecordJson = Omit<MemoryRecord, 'createdAt' | 'updatedAt'> & {
  createdAt: string;
  updatedAt: string;
};

export function recordToJson(r: MemoryRecord): RecordJson {
  return {
    id: r.id,
    ownerId: r.ownerId,
    agentId: r.agentId,
    kind: r.kind,
    content: r.content,
    metadata: r.metadata,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export function recordFromJson(r: RecordJson): MemoryRecord {
  return { ...r, createdAt: new Date(r.createdAt), updatedAt: new Date(r.updatedAt) };
}
