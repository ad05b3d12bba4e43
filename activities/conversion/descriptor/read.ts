import type { ClientBase } from 'pg';
import { readColumns } from './columns';
import { readNotValidNotNull, withoutNotValidNotNull } from './not-null';
import { readDependentViews, readOtherDependents } from './dependents';
import { readConstraints, readIncomingForeignKeys, readIndexes } from './keys';
import { qualified, type TableName } from '../../../src/conversion/choice/names';
import { readNotAlterable } from './alterable';
import { readOwnedSequences, readPolicies, readPublications, readTableGrants, readTriggers } from './objects';
import type { TableDescriptor } from './types';
import { pgFeatures } from '../../../src/shared/pg-version';

export class TableNotFoundError extends Error {
  constructor(public readonly table: string) {
    super(`table ${table} does not exist (or this role cannot see it): check the name and the schema ("schema.name")`);
    this.name = 'TableNotFoundError';
  }
}

/** The table's OID by name (the session's search_path for an unqualified name), or null. */
export async function resolveTable(c: Pick<ClientBase, 'query'>, t: TableName): Promise<number | null> {
  const r = await c.query<{ oid: string | null }>(`SELECT to_regclass($1)::oid::text AS oid`, [qualified(t)]);
  return r.rows[0]?.oid ? Number(r.rows[0].oid) : null;
}

/**
 * The table's whole definition, from the catalog, in ONE read-only snapshot with an empty
 * search_path (so every type, expression and definition Postgres renders is schema-qualified
 * and means the same in any later session). Read-only; needs no privilege beyond catalog access.
 */
export async function readTableDescriptor(c: ClientBase, t: TableName): Promise<TableDescriptor> {
  const oid = await resolveTable(c, t);
  if (oid === null) throw new TableNotFoundError(qualified(t));
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await c.query(`SELECT set_config('search_path', '', true)`);
    const base = await c.query<{
      schema: string; name: string; schema_oid: string; relkind: string; persistence: string; is_partition: boolean; parents: string[] | null;
      children: string[] | null; of_type: string | null; owner: string; comment: string | null; storage: string[] | null; tablespace: string | null;
      replident: string; rls: boolean; force_rls: boolean; reader: string; reader_super: boolean; reader_bypass: boolean; reader_owns: boolean; total: string; heap: string; reltuples: string; version: string;
    }>(
      `SELECT n.nspname AS schema, c.relname AS name, n.oid::text AS schema_oid, c.relkind::text AS relkind, c.relpersistence::text AS persistence,
              c.relispartition AS is_partition,
              (SELECT array_agg(i.inhparent::regclass::text) FROM pg_inherits i WHERE i.inhrelid = c.oid) AS parents,
              (SELECT array_agg(i.inhrelid::regclass::text) FROM pg_inherits i WHERE i.inhparent = c.oid) AS children,
              CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) END AS of_type,
              pg_get_userbyid(c.relowner) AS owner, obj_description(c.oid, 'pg_class') AS comment, c.reloptions AS storage,
              (SELECT spcname FROM pg_tablespace WHERE oid = c.reltablespace) AS tablespace,
              c.relreplident::text AS replident, c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls,
              current_user::text AS reader, r.rolsuper AS reader_super, r.rolbypassrls AS reader_bypass, pg_has_role(current_user, c.relowner, 'USAGE') AS reader_owns,
              pg_total_relation_size(c.oid)::text AS total, pg_relation_size(c.oid)::text AS heap, c.reltuples::bigint::text AS reltuples,
              current_setting('server_version_num') AS version
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.rolname = current_user WHERE c.oid = $1`,
      [oid],
    );
    const b = base.rows[0];
    if (!b) throw new TableNotFoundError(qualified(t));
    const features = pgFeatures(Number(b.version));
    const constraints = await readConstraints(c, oid);
    const notValidNotNull = await readNotValidNotNull(c, oid, features);
    const d: TableDescriptor = {
      oid,
      schema: b.schema,
      name: b.name,
      qualified: qualified({ schema: b.schema, name: b.name }),
      relkind: b.relkind,
      persistence: b.persistence,
      isPartition: b.is_partition,
      inheritance: { parents: b.parents ?? [], children: b.children ?? [] },
      ofType: b.of_type,
      owner: b.owner,
      comment: b.comment,
      storage: b.storage ?? [],
      tablespace: b.tablespace,
      replicaIdentity: b.replident,
      rowSecurity: { enabled: b.rls, forced: b.force_rls, reader: { role: b.reader, superuser: b.reader_super, bypassRls: b.reader_bypass, owner: b.reader_owns } },
      columns: withoutNotValidNotNull(await readColumns(c, oid), notValidNotNull),
      primaryKey: constraints.find((x) => x.type === 'p') ?? null,
      constraints: constraints.filter((x) => x.type !== 'p'),
      indexes: await readIndexes(c, oid, features),
      incomingForeignKeys: await readIncomingForeignKeys(c, oid),
      triggers: await readTriggers(c, oid),
      policies: await readPolicies(c, oid),
      grants: await readTableGrants(c, oid),
      publications: await readPublications(c, oid, Number(b.schema_oid), features),
      views: await readDependentViews(c, oid),
      otherDependents: await readOtherDependents(c, oid),
      sequences: await readOwnedSequences(c, oid),
      totalBytes: Number(b.total),
      tableBytes: Number(b.heap),
      estimatedRows: Number(b.reltuples),
      serverVersionNum: Number(b.version),
      notValidNotNull,
    };
    d.notAlterable = await readNotAlterable(c, oid, d.views.map((v) => v.name));
    await c.query('COMMIT');
    return d;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
