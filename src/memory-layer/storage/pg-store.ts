import { escapeIdentifier, type ClientBase, type Pool } from 'pg';
import type { MemoryRecord } from '../record';
import { rangeChecksumSql, type Checksum } from '../checksum';
import { isMissingPartition, sqlState, withContext } from '../../shared/pg-errors';
import { ensureMonthlyPartitions, partitionedOf } from './partitions';
import type { PutOutcome, RangeFilter, RecordStore } from './store';
import { checkout } from '../../config/pg-checkout';

/**
 * The Postgres store, on `memory_records` (partitioned) or any table of the same shape (the heap
 * table of 001, the conversion's shadow table): both accept ON CONFLICT (id, created_at).
 *
 * Two guards make concurrent writers (live dual-writes, back-fill and repair batches from other
 * processes) converge on the newest version:
 *  - version: an upsert only replaces a row whose updated_at is older than its own;
 *  - deletion: a delete leaves a row in memory_record_tombstones in the same transaction, and
 *    upserts skip tombstoned ids, so a late back-fill cannot resurrect a deleted record.
 *
 * The tombstone check alone has a race under READ COMMITTED: an upsert whose snapshot predates
 * a delete's commit would not see the tombstone, and the delete would not see the upsert's
 * uncommitted row. So writers also take a transaction-scoped advisory lock per id stripe
 * (64 stripes): upserts in SHARE mode (they never wait for each other), deletes in EXCLUSIVE
 * mode. A delete therefore waits for in-flight upserts of its stripe and sees their rows; an
 * upsert that starts after the delete waits for its commit and then sees the tombstone (the
 * upsert statement takes its snapshot after the lock is granted). Stripes are locked in
 * ascending order, so batches cannot deadlock on them.
 */

export const DEFAULT_TABLE = 'memory_records';
export const TOMBSTONES_TABLE = 'memory_record_tombstones';
/** Advisory lock class of the tombstone stripes ('LCHT'). */
export const STRIPE_LOCK_CLASS = 0x4c434854;
/** Advisory lock class of per-id create locks ('LCHI'). */
const ID_LOCK_CLASS = 0x4c434849;
const ID_LOCKS_SQL = `SELECT pg_advisory_xact_lock(${ID_LOCK_CLASS}, h) FROM (SELECT DISTINCT hashtext(x::text) AS h FROM unnest($1::uuid[]) x ORDER BY 1) q`;
export const STRIPES_SQL = (fn: string) =>
  `SELECT ${fn}(${STRIPE_LOCK_CLASS}, s) FROM (SELECT DISTINCT hashtext(x::text) & 63 AS s FROM unnest($1::uuid[]) x ORDER BY 1) q`;

export interface TableOptions {
  /** Table name, unquoted (default memory_records). */
  table?: string;
  /**
   * A second table of the same shape that receives the same write IN THE SAME TRANSACTION (the
   * app's dual-write onto a table: the conversion's sync "app-dual-write"). Both commit or
   * neither does, so the two never differ by a write, and a rename of either table (the swap)
   * cannot fall between the two writes.
   */
  mirror?: string;
}

export interface UpsertOptions extends TableOptions {
  /**
   * Creates, not copies: each id is locked (a transaction-scoped advisory lock on its hash) for
   * the write, so two instances creating one id concurrently are serialised and the second sees
   * the first's row (whatever month it went to) and is refused. One lock per id: for single
   * creates, not for back-fill batches.
   */
  exclusiveIds?: boolean;
}

export interface UpsertResult {
  written: number;
  skippedStale: number;
  skippedDeleted: number;
  /**
   * Ids not written because the table holds a record with that id and a different created_at
   * (one id, one record: the key is (id, created_at), so no constraint catches it).
   */
  idConflicts: string[];
  /** Partitions created because a row had none (names). */
  partitionsCreated: string[];
}

const COLUMNS = 'id, owner_id, agent_id, kind, content, metadata, created_at, updated_at';

/**
 * The guarded write every path into the records table shares, as CTEs after an `input` CTE of
 * the table's columns: `dead` (ids with a tombstone: never written again), `taken` (ids held
 * under another created_at: one id, one record), `written` (the rest, an older version never
 * over a newer one).
 */
export function guardedWriteCtes(t: string, insertOrder = ''): string {
  return `dead AS (
      SELECT i.id FROM input i WHERE EXISTS (SELECT 1 FROM ${TOMBSTONES_TABLE} d WHERE d.id = i.id)
    ), taken AS (
      SELECT i.id FROM input i
       WHERE NOT EXISTS (SELECT 1 FROM dead WHERE dead.id = i.id)
         AND EXISTS (SELECT 1 FROM ${t} o WHERE o.id = i.id AND o.created_at <> i.created_at)
    ), written AS (
      INSERT INTO ${t} AS t (${COLUMNS})
      SELECT i.* FROM input i WHERE NOT EXISTS (SELECT 1 FROM dead WHERE dead.id = i.id)
                                AND NOT EXISTS (SELECT 1 FROM taken WHERE taken.id = i.id)${insertOrder}
      ON CONFLICT (id, created_at) DO UPDATE
         SET owner_id = EXCLUDED.owner_id, agent_id = EXCLUDED.agent_id, kind = EXCLUDED.kind,
             content = EXCLUDED.content, metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at
       WHERE t.updated_at < EXCLUDED.updated_at
      RETURNING 1
    )`;
}

/**
 * Version-guarded batch upsert: one statement per batch (unnest of typed arrays). Runs its own
 * transaction: call it on a client that is not inside one. When a row's month has no partition
 * it creates the missing monthly partitions (create_monthly_partition) and retries once.
 */
export async function upsertRecords(client: ClientBase, records: MemoryRecord[], opts: UpsertOptions = {}): Promise<UpsertResult> {
  const table = opts.table ?? DEFAULT_TABLE;
  const batch = dedupeNewest(records);
  const result: UpsertResult = { written: 0, skippedStale: 0, skippedDeleted: 0, idConflicts: [], partitionsCreated: [] };
  if (batch.length === 0) return result;
  const ids = batch.map((r) => r.id);
  const params = [
    ids,
    batch.map((r) => r.ownerId),
    batch.map((r) => r.agentId),
    batch.map((r) => r.kind),
    batch.map((r) => r.content),
    batch.map((r) => JSON.stringify(r.metadata ?? {})),
    batch.map((r) => r.createdAt.toISOString()),
    batch.map((r) => r.updatedAt.toISOString()),
  ];
  const t = escapeIdentifier(table);
  const sql = `
    WITH input AS (
      SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[], $8::timestamptz[])
               AS r(${COLUMNS})
    ), ${guardedWriteCtes(t)}
    SELECT (SELECT count(*) FROM written)::int AS written, (SELECT count(*) FROM dead)::int AS dead,
           (SELECT coalesce(array_agg(id::text ORDER BY id), '{}') FROM taken) AS taken`;
  const mirrorSql = opts.mirror ? sql.replace(`INSERT INTO ${t} AS t`, `INSERT INTO ${escapeIdentifier(opts.mirror)} AS t`) : null;
  for (let attempt = 0; ; attempt++) {
    try {
      await client.query('BEGIN');
      if (opts.exclusiveIds) await client.query(ID_LOCKS_SQL, [ids]);
      await client.query(STRIPES_SQL('pg_advisory_xact_lock_shared'), [ids]);
      const r = await client.query<{ written: number; dead: number; taken: string[] }>(sql, params);
      if (mirrorSql) await client.query(mirrorSql, params);
      await client.query('COMMIT');
      result.written = r.rows[0].written;
      result.skippedDeleted = r.rows[0].dead;
      result.idConflicts = r.rows[0].taken;
      result.skippedStale = batch.length - result.written - result.skippedDeleted - result.idConflicts.length;
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      const into = opts.mirror ? `${table} and its mirror ${opts.mirror}` : table;
      if (attempt > 0 || !isMissingPartition(err)) throw withContext(err, `upsert of ${batch.length} record(s) into ${into}`);
      for (const parent of await partitionedOf(client, [table, ...(opts.mirror ? [opts.mirror] : [])])) {
        result.partitionsCreated.push(...(await ensureMonthlyPartitions(client, parent, batch.map((r) => r.createdAt))));
      }
    }
  }
}

export { ensureMonthlyPartitions, partitionedOf } from './partitions';

export interface DeleteItem {
  id: string;
  /** The record's created_at, so a tombstone can be written even if the table lacks the row. */
  createdAt?: Date;
}

export interface DeleteResult {
  /** Rows removed from the table, with their created_at. */
  deleted: { id: string; createdAt: Date }[];
  /** Tombstones written (ids already tombstoned are not counted). */
  tombstoned: number;
}

/**
 * Deletes ids and writes their tombstones in one transaction. An id the table does not hold is
 * still tombstoned when its createdAt is given (a dual-write delete of a record not back-filled
 * yet), so the back-fill cannot bring it back.
 */
export async function deleteRecords(
  client: ClientBase,
  items: readonly (DeleteItem | string)[],
  opts: TableOptions & { deletedAt?: Date } = {},
): Promise<DeleteResult> {
  const table = opts.table ?? DEFAULT_TABLE;
  const byId = new Map<string, DeleteItem>();
  for (const it of items) {
    const item = typeof it === 'string' ? { id: it } : it;
    byId.set(item.id, { ...byId.get(item.id), ...item });
  }
  if (byId.size === 0) return { deleted: [], tombstoned: 0 };
  const ids = [...byId.keys()];
  const createdAts = ids.map((id) => byId.get(id)!.createdAt?.toISOString() ?? null);
  const t = escapeIdentifier(table);
  const sql = `
    WITH input AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[]) AS i(id, created_at)),
    del AS (DELETE FROM ${t} t USING input i WHERE t.id = i.id RETURNING t.id, t.created_at),
    tomb AS (
      INSERT INTO ${TOMBSTONES_TABLE} (id, created_at, deleted_at)
      SELECT i.id, coalesce(d.created_at, i.created_at), $3::timestamptz
        FROM input i LEFT JOIN del d ON d.id = i.id
       WHERE coalesce(d.created_at, i.created_at) IS NOT NULL
      ON CONFLICT (id) DO NOTHING
      RETURNING 1
    )
    SELECT d.id, d.created_at, (SELECT count(*) FROM tomb)::int AS tombstoned FROM del d
    UNION ALL SELECT NULL, NULL, (SELECT count(*) FROM tomb)::int`;
  try {
    await client.query('BEGIN');
    await client.query(STRIPES_SQL('pg_advisory_xact_lock'), [ids]);
    const r = await client.query<{ id: string | null; created_at: Date | null; tombstoned: number }>(sql, [
      ids,
      createdAts,
      (opts.deletedAt ?? new Date()).toISOString(),
    ]);
    if (opts.mirror) await client.query(`DELETE FROM ${escapeIdentifier(opts.mirror)} WHERE id = ANY($1::uuid[])`, [ids]);
    await client.query('COMMIT');
    return {
      deleted: r.rows.filter((x) => x.id !== null).map((x) => ({ id: x.id!, createdAt: x.created_at! })),
      tombstoned: r.rows[0]?.tombstoned ?? 0,
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw withContext(err, `delete of ${ids.length} record(s) from ${table}${opts.mirror ? ` and its mirror ${opts.mirror}` : ''}`);
  }
}

interface Row {
  id: string;
  owner_id: string;
  agent_id: string | null;
  kind: string;
  content: string;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export function rowToRecord(r: Row): MemoryRecord {
  return {
    id: r.id,
    ownerId: r.owner_id,
    agentId: r.agent_id,
    kind: r.kind,
    content: r.content,
    metadata: r.metadata ?? {},
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The Postgres store behind the `RecordStore` interface (a pool; each call takes a client). */
export class PgStore implements RecordStore {
  readonly name = 'postgres' as const;
  readonly table: string;
  /** The table every write is mirrored to in the same transaction, if any (TableOptions.mirror). */
  readonly mirror: string | undefined;
  private readonly t: string;

  constructor(
    private readonly pool: Pool,
    opts: TableOptions = {},
  ) {
    this.table = opts.table ?? DEFAULT_TABLE;
    this.mirror = opts.mirror;
    this.t = escapeIdentifier(this.table);
  }

  /** The same store (same table, same pool) mirroring every write into `mirror`. */
  withMirror(mirror: string | undefined): PgStore {
    return mirror === this.mirror ? this : new PgStore(this.pool, { table: this.table, mirror });
  }

  /** One id, one record; should an older database hold two (created before the guard), the first created wins, always the same one. */
  async get(id: string): Promise<MemoryRecord | null> {
    const r = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM ${this.t} WHERE id = $1::uuid ORDER BY created_at LIMIT 1`, [id]);
    return r.rows[0] ? rowToRecord(r.rows[0]) : null;
  }

  async getMany(ids: readonly string[]): Promise<MemoryRecord[]> {
    if (ids.length === 0) return [];
    const r = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM ${this.t} WHERE id = ANY($1::uuid[])`, [ids]);
    return r.rows.map(rowToRecord);
  }

  async put(record: MemoryRecord): Promise<PutOutcome> {
    const r = await this.withClient((c) => upsertRecords(c, [record], { table: this.table, mirror: this.mirror }));
    return r.written ? 'written' : r.skippedDeleted ? 'deleted' : r.idConflicts.length ? 'taken' : 'stale';
  }

  async create(record: MemoryRecord): Promise<PutOutcome> {
    const r = await this.withClient((c) => upsertRecords(c, [record], { table: this.table, mirror: this.mirror, exclusiveIds: true }));
    return r.written ? 'written' : r.skippedDeleted ? 'deleted' : r.idConflicts.length ? 'taken' : 'stale';
  }

  async delete(id: string, deletedAt: Date, createdAt?: Date): Promise<Date | null> {
    const r = await this.withClient((c) => deleteRecords(c, [{ id, createdAt }], { table: this.table, mirror: this.mirror, deletedAt }));
    return r.deleted[0]?.createdAt ?? null;
  }

  async isDeleted(id: string): Promise<boolean> {
    const r = await this.pool.query(`SELECT 1 FROM ${TOMBSTONES_TABLE} WHERE id = $1::uuid`, [id]);
    return r.rowCount! > 0;
  }

  async listByOwner(ownerId: string, limit: number): Promise<MemoryRecord[]> {
    const r = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.t} WHERE owner_id = $1 ORDER BY created_at, id LIMIT $2`,
      [ownerId, limit],
    );
    return r.rows.map(rowToRecord);
  }

  /** The parity checksum (checksum.ts) over created_at in [from, to). */
  async checksum(range: RangeFilter = {}): Promise<Checksum> {
    const r = await this.pool.query<{ count: string; sum: string }>(rangeChecksumSql(this.t), [
      range.from?.toISOString() ?? '-infinity',
      range.to?.toISOString() ?? 'infinity',
    ]);
    return { count: Number(r.rows[0].count), sum: r.rows[0].sum };
  }

  private async withClient<T>(cb: (c: ClientBase) => Promise<T>): Promise<T> {
    const c = await checkout(this.pool);
    let broken: Error | undefined;
    try {
      return await cb(c);
    } catch (err) {
      // An error without a SQLSTATE is a connection failure: do not return that client to the pool.
      if (!sqlState(err)) broken = err as Error;
      throw err;
    } finally {
      c.release(broken);
    }
  }
}

/** Keeps one version per id (the newest), sorted by id so concurrent batches lock rows in one order. */
function dedupeNewest(records: MemoryRecord[]): MemoryRecord[] {
  const byId = new Map<string, MemoryRecord>();
  for (const r of records) {
    const prev = byId.get(r.id);
    if (!prev || prev.updatedAt.getTime() < r.updatedAt.getTime()) byId.set(r.id, r);
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

