import { Pool, escapeIdentifier } from 'pg';
import { chunks, type StoreReader, type StoredRecord } from './store-reader';

/**
 * Reads a memory_records-shaped table (heap, partitioned or a shadow table) for the oracle.
 * Lookups go by id in chunks with `= ANY($1::uuid[])`, which uses the id index on either
 * layout. Timestamps are read as whole milliseconds since the epoch (floor), the precision of
 * the records API, so a value that round-trips through JSON compares equal.
 */
export function postgresReader(
  source: Pool | { connectionString: string },
  table = 'memory_records',
  opts: { chunkSize?: number } = {},
): StoreReader {
  const ownPool = !(source instanceof Pool);
  const pool = source instanceof Pool ? source : new Pool({ connectionString: source.connectionString, max: 2, application_name: 'lichen-loadgen-oracle' });
  if (ownPool) pool.on('error', () => undefined); // idle-client errors surface on the next query
  const parts = table.split('.');
  if (parts.length > 2 || parts.some((p) => p.length === 0)) {
    throw new Error(`postgresReader: table must be "name" or "schema.name", got ${JSON.stringify(table)}`);
  }
  const qualified = parts.map((p) => escapeIdentifier(p)).join('.');
  const chunkSize = opts.chunkSize ?? 5000;

  const toRecord = (r: { id: string; owner_id: string; kind: string; content: string; created_ms: string; updated_ms: string }): StoredRecord => ({
    id: r.id,
    ownerId: r.owner_id,
    kind: r.kind,
    content: r.content,
    createdAt: new Date(Number(r.created_ms)).toISOString(),
    updatedAt: new Date(Number(r.updated_ms)).toISOString(),
  });

  return {
    description: `postgres table ${table}`,
    async readByIds(ids) {
      const out: StoredRecord[] = [];
      for (const chunk of chunks(ids, chunkSize)) {
        const res = await pool.query(
          `SELECT t.id::text AS id, t.owner_id, t.kind, t.content,
                  floor(extract(epoch from t.created_at) * 1000)::bigint AS created_ms,
                  floor(extract(epoch from t.updated_at) * 1000)::bigint AS updated_ms
             FROM ${qualified} t
            WHERE t.id = ANY($1::uuid[])`,
          [chunk],
        );
        for (const r of res.rows) out.push(toRecord(r));
      }
      return out;
    },
    async idsOfOwners(ownerIds) {
      const out: string[] = [];
      for (const chunk of chunks(ownerIds, 500)) {
        const res = await pool.query<{ id: string }>(`SELECT t.id::text AS id FROM ${qualified} t WHERE t.owner_id = ANY($1::text[])`, [chunk]);
        for (const r of res.rows) out.push(r.id);
      }
      return out;
    },
    async close() {
      if (ownPool) await pool.end();
    },
  };
}
