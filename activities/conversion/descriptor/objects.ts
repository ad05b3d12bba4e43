import type { ClientBase } from 'pg';
import type { PgFeatures } from '../../../src/shared/pg-version';
import { aclSql } from './columns';
import type { Grant, OwnedSequence, PolicyDesc, PublicationDesc, TriggerDesc } from './types';

type Q = Pick<ClientBase, 'query'>;

/** The conversion's own sync triggers are not the user's (they are never carried over). */
export const SYNC_TRIGGER_PREFIX = 'lichen_conversion_sync';

/** User triggers: not internal (FK and other system triggers), not the conversion's sync. */
export async function readTriggers(c: Q, oid: number): Promise<TriggerDesc[]> {
  const r = await c.query<{ name: string; definition: string; enabled: string; row: boolean; transition: boolean; is_constraint: boolean; comment: string | null }>(
    `SELECT t.tgname AS name, pg_get_triggerdef(t.oid) AS definition, t.tgenabled::text AS enabled,
            (t.tgtype & 1) = 1 AS row, (t.tgoldtable IS NOT NULL OR t.tgnewtable IS NOT NULL) AS transition,
            t.tgconstraint <> 0 AS is_constraint, obj_description(t.oid, 'pg_trigger') AS comment
       FROM pg_trigger t
      WHERE t.tgrelid = $1 AND NOT t.tgisinternal AND t.tgname NOT LIKE $2
      ORDER BY t.tgname`,
    [oid, `${SYNC_TRIGGER_PREFIX}%`],
  );
  return r.rows.map((x) => ({ name: x.name, definition: x.definition, enabled: x.enabled, row: x.row, transitionTables: x.transition, isConstraint: x.is_constraint, comment: x.comment }));
}

export async function readPolicies(c: Q, oid: number): Promise<PolicyDesc[]> {
  const r = await c.query<{ name: string; permissive: boolean; command: string; roles: string[]; using: string | null; with_check: string | null }>(
    `SELECT p.polname AS name, p.polpermissive AS permissive,
            CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
            (SELECT array_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END ORDER BY 1) FROM unnest(p.polroles) r) AS roles,
            pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
       FROM pg_policy p WHERE p.polrelid = $1 ORDER BY p.polname`,
    [oid],
  );
  return r.rows.map((x) => ({ name: x.name, permissive: x.permissive, command: x.command, roles: x.roles, using: x.using, withCheck: x.with_check }));
}

export async function readTableGrants(c: Q, oid: number): Promise<Grant[]> {
  const r = await c.query<{ grants: Grant[] }>(`SELECT ${aclSql('cl.relacl', 'cl.relowner')} AS grants FROM pg_class cl WHERE cl.oid = $1`, [oid]);
  return r.rows[0]?.grants ?? [];
}

/**
 * Publications the table is in: by name (pg_publication_rel) or implicitly (FOR ALL TABLES, FOR
 * TABLES IN SCHEMA), with the kind of each. Row filters, column lists and TABLES IN SCHEMA exist
 * from PostgreSQL 15 on; before, the first two are null and only FOR ALL TABLES is implicit.
 */
export async function readPublications(c: Q, oid: number, schemaOid: number, f: Pick<PgFeatures, 'publicationSchemas' | 'publicationRowFiltersAndColumns'>): Promise<PublicationDesc[]> {
  const filtersAndColumns = f.publicationRowFiltersAndColumns
    ? `pg_get_expr(pr.prqual, pr.prrelid) AS row_filter,
            (SELECT array_agg(a.attname::text ORDER BY k.i) FROM unnest(pr.prattrs::int2[]) WITH ORDINALITY k(n, i)
               JOIN pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k.n) AS columns`
    : `NULL::text AS row_filter, NULL::text[] AS columns`;
  const inSchema = f.publicationSchemas ? ` OR EXISTS (SELECT 1 FROM pg_publication_namespace pn WHERE pn.pnpubid = p.oid AND pn.pnnspid = $2)` : '';
  const r = await c.query<{ name: string; row_filter: string | null; columns: string[] | null; kind: PublicationDesc['kind']; via_root: boolean }>(
    `SELECT p.pubname AS name, ${filtersAndColumns},
            'table' AS kind, p.pubviaroot AS via_root
       FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid WHERE pr.prrelid = $1
     UNION ALL
     SELECT p.pubname, NULL, NULL, CASE WHEN p.puballtables THEN 'all-tables' ELSE 'schema' END, p.pubviaroot FROM pg_publication p
      WHERE p.puballtables${inSchema}
     ORDER BY 1`,
    f.publicationSchemas ? [oid, schemaOid] : [oid],
  );
  return r.rows.map((x) => ({ name: x.name, rowFilter: x.row_filter, columns: x.columns, implicit: x.kind !== 'table', kind: x.kind, viaPartitionRoot: x.via_root }));
}

/** Sequences owned by a column: serial (OWNED BY, auto) and identity (internal). */
export async function readOwnedSequences(c: Q, oid: number): Promise<OwnedSequence[]> {
  const r = await c.query<OwnedSequence>(
    `SELECT d.objid::regclass::text AS name, a.attname AS column, d.deptype::text AS ownership,
            (SELECT s.last_value::text FROM pg_sequences s WHERE s.schemaname = n.nspname AND s.sequencename = sc.relname) AS "lastValue",
            json_build_object('increment', q.seqincrement::text, 'min', q.seqmin::text, 'max', q.seqmax::text, 'start', q.seqstart::text,
                              'cache', q.seqcache::text, 'cycle', q.seqcycle) AS options
       FROM pg_depend d
       JOIN pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
       JOIN pg_sequence q ON q.seqrelid = sc.oid
       JOIN pg_namespace n ON n.oid = sc.relnamespace
       JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1 AND d.deptype IN ('a', 'i')
      ORDER BY 2`,
    [oid],
  );
  return r.rows;
}
