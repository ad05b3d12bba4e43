import { escapeIdentifier, type ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { COPY_COLUMNS } from '../copy-text';
import { isMissingPartition, withContext } from '../../shared/pg-errors';
import { DEFAULT_TABLE, ensureMonthlyPartitions, guardedWriteCtes, partitionedOf, STRIPE_LOCK_CLASS, type UpsertResult } from './pg-store';

/** The session's staging table (temporary: private to the connection, gone with it). */
const STAGE = 'lichen_backfill_stage';
const staged = new WeakSet<ClientBase>();

/**
 * The same guarded upsert as `upsertRecords` (pg-store.ts), for a slab of records that arrives
 * as COPY text (copy-text.ts): the lines are `COPY`'d into a temporary staging table and applied
 * with ONE statement, in one transaction with the same stripe locks (SHARE mode, stripes in
 * ascending order, taken after the COPY so a delete never waits for the network):
 *  - version guard: a row is only replaced by a strictly newer updated_at;
 *  - tombstones: an id in memory_record_tombstones is never written;
 *  - one version per id (the newest) and rows written in id order, as `dedupeNewest` does.
 * When a row's month has no partition the transaction is rolled back, the months of the slab's
 * lines are created (create_monthly_partition) and the slab is applied once more.
 * Call it on a client that is not inside a transaction.
 */
export async function upsertCopyText(client: ClientBase, lines: readonly Buffer[], rows: number, opts: { table?: string } = {}): Promise<UpsertResult> {
  const table = opts.table ?? DEFAULT_TABLE;
  const result: UpsertResult = { written: 0, skippedStale: 0, skippedDeleted: 0, idConflicts: [], partitionsCreated: [] };
  if (rows === 0) return result;
  if (!staged.has(client)) {
    await client.query(
      `CREATE TEMPORARY TABLE IF NOT EXISTS ${STAGE} (id uuid, owner_id text, agent_id text, kind text, content text, metadata jsonb, created_at timestamptz, updated_at timestamptz)`,
    );
    staged.add(client);
  }
  const t = escapeIdentifier(table);
  const sql = `
    WITH input AS (
      SELECT DISTINCT ON (id) ${COPY_COLUMNS} FROM ${STAGE} ORDER BY id, updated_at DESC
    ), ${guardedWriteCtes(t, ' ORDER BY i.id')}
    SELECT (SELECT count(*) FROM input)::int AS distinct, (SELECT count(*) FROM written)::int AS written, (SELECT count(*) FROM dead)::int AS dead,
           (SELECT coalesce(array_agg(id::text ORDER BY id), '{}') FROM taken) AS taken`;
  const locks = `SELECT pg_advisory_xact_lock_shared(${STRIPE_LOCK_CLASS}, s) FROM (SELECT DISTINCT hashtext(id::text) & 63 AS s FROM ${STAGE} ORDER BY 1) q`;
  for (let attempt = 0; ; attempt++) {
    try {
      await client.query('BEGIN');
      await client.query(`TRUNCATE ${STAGE}`);
      await pipeline(Readable.from(lines), client.query(copyFrom(`COPY ${STAGE} (${COPY_COLUMNS}) FROM STDIN`)));
      await client.query(locks);
      const r = await client.query<{ distinct: number; written: number; dead: number; taken: string[] }>(sql);
      await client.query('COMMIT');
      result.written = r.rows[0].written;
      result.skippedDeleted = r.rows[0].dead;
      result.idConflicts = r.rows[0].taken;
      result.skippedStale = r.rows[0].distinct - result.written - result.skippedDeleted - result.idConflicts.length;
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (attempt > 0 || !isMissingPartition(err)) throw withContext(err, `staged upsert of ${rows} record(s) into ${table}`);
      const dates = createdAtsOf(lines);
      for (const parent of await partitionedOf(client, [table])) {
        result.partitionsCreated.push(...(await ensureMonthlyPartitions(client, parent, dates)));
      }
    }
  }
}

/** The created_at of every line (column 7, never escaped): the months a slab needs. */
function createdAtsOf(lines: readonly Buffer[]): Date[] {
  const out: Date[] = [];
  for (const line of Buffer.concat(lines).toString('utf8').split('\n')) {
    if (line === '') continue;
    out.push(new Date(line.split('\t')[6]));
  }
  return out;
}

