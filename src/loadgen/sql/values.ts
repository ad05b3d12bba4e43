import crypto from 'node:crypto';
import type { Pool } from 'pg';
import { qi } from '../../conversion/choice/names';
import type { ColumnDesc, TableDescriptor } from '../../../activities/conversion/descriptor/types';
import type { Prng } from '../prng';

/**
 * Values for any column, as text bound to `$n::<type>`: generated from the type where it is a
 * known one (numbers within their precision, text within its length, uuid, bool, timestamps,
 * json, bytea, arrays of those, enum labels), otherwise sampled from values the database already
 * holds (a domain with a CHECK, a foreign key's referenced column, anything else). A NOT NULL
 * column with neither is an error naming it, before any load.
 */
export type ValueFn = (rng: Prng) => string | null;

const WORDS = ['alpha', 'beta', 'gamma', 'delta', "o'brien", 'zeta', 'ünïcödé', 'comma,inside', 'quote"inside', 'back\\slash'];

function text(rng: Prng, max: number): string {
  let s = `${WORDS[rng.int(WORDS.length)]}-${rng.int(1e9).toString(36)}`;
  if (s.length > max) s = s.slice(0, max);
  return s || 'x';
}

const typmod = (t: string) => /\((\d+)(?:,(\d+))?\)/.exec(t);

/** A generator for a base type (format_type text), or null when the type is not one it knows. */
export function generatorFor(type: string, opts: { spreadMs: number; now: number }): ValueFn | null {
  const base = type.replace(/\(.*\)/, '');
  const m = typmod(type);
  const time = (rng: Prng) => new Date(opts.now - rng.next() * opts.spreadMs);
  switch (base) {
    case 'smallint': return (r) => String(r.int(30000) - 15000);
    case 'integer': return (r) => String(r.int(2e9) - 1e9);
    case 'bigint': return (r) => String(r.int(2 ** 52));
    case 'numeric': {
      const p = m ? Number(m[1]) : 12;
      const s = m?.[2] ? Number(m[2]) : 2;
      return (r) => (r.int(10 ** Math.min(p - s, 9)) + r.int(10 ** s) / 10 ** s).toFixed(s);
    }
    case 'real': case 'double precision': return (r) => String(r.int(1e6) / 64);
    case 'text': return (r) => text(r, 200);
    case 'character varying': case 'character': return (r) => text(r, m ? Number(m[1]) : 1);
    case 'uuid': return () => crypto.randomUUID();
    case 'boolean': return (r) => (r.int(2) ? 'true' : 'false');
    case 'timestamp with time zone': return (r) => time(r).toISOString();
    case 'timestamp without time zone': return (r) => time(r).toISOString().replace('T', ' ').replace('Z', '');
    case 'date': return (r) => time(r).toISOString().slice(0, 10);
    case 'jsonb': case 'json': return (r) => JSON.stringify({ n: r.int(1000), s: text(r, 40), nested: { ok: r.int(2) === 1, list: [r.int(9), r.int(9)] } });
    case 'bytea': return (r) => `\\x${Array.from({ length: 1 + r.int(24) }, () => r.int(256).toString(16).padStart(2, '0')).join('')}`;
    default: return null;
  }
}

const arrayLiteral = (items: string[]) => `{${items.map((s) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;

async function samples(pool: Pool, sql: string): Promise<string[]> {
  return (await pool.query<{ v: string }>(sql)).rows.map((r) => r.v);
}

export interface ColumnPlan {
  column: ColumnDesc;
  value: ValueFn;
}

/**
 * A value source for every column the generator writes: all but generated and identity ones
 * and those with a default that is a sequence (the table's own ids).
 */
export async function planColumns(pool: Pool, d: TableDescriptor, opts: { partitionColumn?: string; spreadMs: number; now: number }): Promise<ColumnPlan[]> {
  const out: ColumnPlan[] = [];
  const fks = await pool.query<{ col: string; ref: string; refcol: string }>(
    `SELECT a.attname::text AS col, co.confrelid::regclass::text AS ref, fa.attname::text AS refcol
       FROM pg_constraint co
       JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1]
       JOIN pg_attribute fa ON fa.attrelid = co.confrelid AND fa.attnum = co.confkey[1]
      WHERE co.conrelid = $1 AND co.contype = 'f' AND array_length(co.conkey, 1) = 1`, [d.oid]);
  const checkedDomains = new Set((await pool.query<{ t: string }>(
    `SELECT format_type(ty.oid, NULL) AS t FROM pg_type ty WHERE ty.typtype = 'd' AND EXISTS (SELECT 1 FROM pg_constraint c WHERE c.contypid = ty.oid)`)).rows.map((r) => r.t));
  for (const c of d.columns) {
    if (c.generated || c.identity || (c.default !== null && /nextval\(/.test(c.default))) continue;
    let value: ValueFn | null = null;
    const fk = fks.rows.find((f) => f.col === c.name);
    if (fk) {
      const vals = await samples(pool, `SELECT DISTINCT ${qi(fk.refcol)}::text AS v FROM ${fk.ref} WHERE ${qi(fk.refcol)} IS NOT NULL LIMIT 200`);
      if (vals.length) value = (r) => vals[r.int(vals.length)];
    } else if (c.typtype === 'e') {
      const labels = await samples(pool, `SELECT unnest(enum_range(NULL::${c.type}))::text AS v`);
      value = (r) => labels[r.int(labels.length)];
    } else if (c.elementType) {
      const el = generatorFor(c.elementType, opts);
      if (el) value = (r) => arrayLiteral(Array.from({ length: 1 + r.int(3) }, () => el(r) ?? ''));
    } else if (!(c.typtype === 'd' && checkedDomains.has(c.type))) {
      value = generatorFor(c.baseType, c.name === opts.partitionColumn ? opts : { ...opts });
    }
    if (!value) {
      const vals = await samples(pool, `SELECT DISTINCT ${qi(c.name)}::text AS v FROM ${d.qualified} WHERE ${qi(c.name)} IS NOT NULL LIMIT 200`);
      if (vals.length) value = (r) => vals[r.int(vals.length)];
    }
    if (!value) {
      if (c.notNull && c.default === null) throw new Error(`loadgen: no way to write column ${c.name} (${c.type}): not a type it generates, and the table holds no value to sample; seed a few rows first`);
      continue; // nullable or defaulted: left to Postgres
    }
    out.push({ column: c, value });
  }
  return out;
}
