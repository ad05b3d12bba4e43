import { escapeIdentifier, type ClientBase } from 'pg';
import { withContext } from '../../shared/pg-errors';
import { DEFAULT_TABLE, STRIPES_SQL, TOMBSTONES_TABLE, type TableOptions } from './pg-store';

export interface OlderVersionItem {
  id: string;
  /** The version held elsewhere (a quarantined record in memory, a delete only memory saw): rows not newer than it go. */
  updatedAt: Date;
}

export interface RemovedVersion {
  id: string;
  createdAt: string;
  /** The removed row's updated_at (ISO). */
  updatedAt: string;
}

/**
 * Removes the rows of `items` whose version is not newer than the given one, and tombstones
 * each id removed (so no back-fill or repair from another copy brings it back), in one
 * transaction under the tombstone stripes every writer takes. A row newer than the given
 * version is kept (it is not stale). The skip of quarantined records uses it
 * (activities/production/quarantine.ts: the record is given up, so no older version of it may be
 * served after the switch), and so does `cutover orphans backfill` for the deletes only a
 * forgotten instance's memory saw.
 */
export async function removeOlderVersions(client: ClientBase, items: readonly OlderVersionItem[], opts: TableOptions = {}): Promise<RemovedVersion[]> {
  if (items.length === 0) return [];
  const table = opts.table ?? DEFAULT_TABLE;
  const t = escapeIdentifier(table);
  const newest = new Map<string, Date>();
  for (const it of items) if (!newest.has(it.id) || newest.get(it.id)!.getTime() < it.updatedAt.getTime()) newest.set(it.id, it.updatedAt);
  const ids = [...newest.keys()].sort();
  const ats = ids.map((id) => newest.get(id)!.toISOString());
  try {
    await client.query('BEGIN');
    await client.query(STRIPES_SQL('pg_advisory_xact_lock'), [ids]);
    const r = await client.query<{ id: string; created_at: Date; updated_at: Date }>(
      `WITH input AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[]) AS i(id, updated_at)),
       del AS (DELETE FROM ${t} t USING input i WHERE t.id = i.id AND t.updated_at <= i.updated_at RETURNING t.id, t.created_at, t.updated_at),
       tomb AS (INSERT INTO ${TOMBSTONES_TABLE} (id, created_at, deleted_at) SELECT id, created_at, now() FROM del ON CONFLICT (id) DO NOTHING RETURNING 1)
       SELECT id::text, created_at, updated_at, (SELECT count(*) FROM tomb) AS tombstoned FROM del ORDER BY id`,
      [ids, ats],
    );
    if (opts.mirror) await client.query(`DELETE FROM ${escapeIdentifier(opts.mirror)} WHERE id = ANY($1::uuid[])`, [r.rows.map((x) => x.id)]);
    await client.query('COMMIT');
    return r.rows.map((x) => ({ id: x.id, createdAt: x.created_at.toISOString(), updatedAt: x.updated_at.toISOString() }));
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw withContext(err, `removal of older versions of ${ids.length} record(s) from ${table}`);
  }
}
