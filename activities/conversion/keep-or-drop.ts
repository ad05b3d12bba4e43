import type { ClientBase } from 'pg';
import { withSuffix } from '../../src/conversion/choice/names';

const qi = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * The one rule for dropping a table that may hold data (a rollback's shadow, the partitioned
 * table after a swap back): drop it only when it holds no row image the table that stays lacks;
 * otherwise rename it aside and keep it. Dropping a kept table is left to an operator, by the
 * exact statement named in the run's result and its audit report.
 *
 * Runs inside the caller's transaction, after it took ACCESS EXCLUSIVE on both tables: nothing
 * writes either of them while they are compared, so "nothing only there" is exact. Rows are
 * compared as whole images (to_jsonb: every column by name, so column order does not matter),
 * so a row only in `candidate`, or a different version of a row, keeps it.
 */
export interface KeptTable {
  /** The kept table, schema-qualified and quoted. */
  table: string;
  /** Row images it holds that the table in use lacks (rows only there, or other versions). */
  rowsOnlyThere: number;
  /** What the run compared it with. */
  comparedWith: string;
  /** The statement that drops it, for an operator who has looked. */
  dropStatement: string;
}

export interface KeepOrDrop {
  dropped: boolean;
  kept?: KeptTable;
}

/** The name a kept table takes: `<name>_rolled_back`, then `_rolled_back_2`, … (the first free one in the schema; `name` shortened to fit 63 bytes, never the suffix). */
export async function keptName(c: Pick<ClientBase, 'query'>, schema: string, base: string): Promise<string> {
  const candidates = Array.from({ length: 1000 }, (_, i) => withSuffix(base, i === 0 ? '_rolled_back' : `_rolled_back_${i + 1}`));
  const r = await c.query<{ name: string }>(
    `SELECT n AS name FROM unnest($2::text[]) WITH ORDINALITY x(n, i) WHERE to_regclass(format('%I.%I', $1::text, n)) IS NULL ORDER BY i LIMIT 1`,
    [schema, candidates],
  );
  if (!r.rows[0]) throw new Error(`no free name to keep a table aside in ${schema}: ${candidates[0]} … ${candidates[candidates.length - 1]} all exist`);
  return r.rows[0].name;
}

/** Row images of `candidate` that `reference` lacks (whole rows, by column name). */
export async function rowsOnlyIn(c: Pick<ClientBase, 'query'>, candidate: string, reference: string): Promise<number> {
  const r = await c.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM (SELECT to_jsonb(x) FROM ${candidate} x EXCEPT SELECT to_jsonb(y) FROM ${reference} y) d`,
  );
  return Number(r.rows[0].n);
}

/**
 * How two tables are compared: whole row images (exact: both tables were written in step until
 * the caller took its locks), or — for memory_records after the app's mirror was removed, when
 * the heap went on taking writes alone — by record: a candidate row is covered when the heap
 * holds the same image or a newer version of its id (`updated_at`), or the id is tombstoned
 * (deleted: the app leaves a tombstone in the delete's transaction and never reuses an id).
 */
export type Compare = { by: 'image' } | { by: 'record'; key: string; version: string; tombstones: string };

/** Rows of `candidate` the reference does not cover, by record (see Compare). */
export async function recordsOnlyIn(c: Pick<ClientBase, 'query'>, candidate: string, reference: string, k: Extract<Compare, { by: 'record' }>): Promise<number> {
  const r = await c.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${candidate} s
      WHERE NOT EXISTS (SELECT 1 FROM ${reference} h WHERE h.${qi(k.key)} = s.${qi(k.key)} AND (h.${qi(k.version)} > s.${qi(k.version)} OR to_jsonb(h) = to_jsonb(s)))
        AND NOT EXISTS (SELECT 1 FROM ${k.tombstones} t WHERE t.${qi(k.key)} = s.${qi(k.key)})`,
  );
  return Number(r.rows[0].n);
}

/**
 * In the caller's transaction (ACCESS EXCLUSIVE on both held, row_security off): drops
 * `candidate` when `reference` holds every row image it holds, else renames it to
 * `<base>_rolled_back[_n]` in `schema` and reports it.
 */
export async function dropUnlessOnlyThere(c: Pick<ClientBase, 'query'>, o: { candidate: string; reference: string; schema: string; base: string; compare?: Compare }): Promise<KeepOrDrop> {
  const exists = (await c.query<{ k: string | null }>(`SELECT to_regclass($1)::text AS k`, [o.candidate])).rows[0].k;
  if (exists === null) return { dropped: false };
  const only = o.compare?.by === 'record' ? await recordsOnlyIn(c, o.candidate, o.reference, o.compare) : await rowsOnlyIn(c, o.candidate, o.reference);
  if (only === 0) {
    await c.query(`DROP TABLE ${o.candidate}`);
    return { dropped: true };
  }
  const name = await keptName(c, o.schema, o.base);
  await c.query(`ALTER TABLE ${o.candidate} RENAME TO ${qi(name)}`);
  const table = `${qi(o.schema)}.${qi(name)}`;
  return { dropped: false, kept: { table, rowsOnlyThere: only, comparedWith: o.reference, dropStatement: `DROP TABLE ${table}` } };
}

/** What every kept name of `base` starts with: at most 40 characters, and short enough for the longest suffix in 63 bytes. */
function keptPrefix(base: string): string {
  const longest = '_rolled_back_1000';
  return [...withSuffix(base, longest).slice(0, -longest.length)].slice(0, 40).join('');
}

/** Tables an earlier rollback kept aside for `base` in `schema` (what a retried rollback reports). */
export async function keptTables(c: Pick<ClientBase, 'query'>, schema: string, base: string): Promise<string[]> {
  const r = await c.query<{ s: string; t: string }>(
    `SELECT n.nspname AS s, c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND starts_with(c.relname, $2) AND c.relname ~ '_rolled_back(_[0-9]+)?$' ORDER BY 1`,
    [schema, keptPrefix(base)],
  );
  return r.rows.map((x) => `${qi(x.s)}.${qi(x.t)}`);
}
