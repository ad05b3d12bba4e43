import type { Pool } from 'pg';
import { ANY, type RowImage, type RowLog } from './row-log';

/**
 * The row-image oracle: reads every row of the table (as a role that sees them all: RLS must not
 * hide any) and judges it against the baseline (every row before the load) and the log:
 *
 * - missing: a row the log (or the baseline) holds alive is absent;
 * - stale: present with another image than the last committed one (any column differs);
 * - resurrected: a committed delete, yet the row is present;
 * - extra: a row neither the baseline nor the log knows;
 * - uncertain (informational): rows whose last statement got no answer, in either state.
 *
 * All of missing, stale, resurrected and extra must be 0.
 */
export interface RowVerdict {
  checked: number;
  missing: number;
  stale: number;
  resurrected: number;
  extra: number;
  uncertain: number;
  samples: { missing: string[]; stale: string[]; resurrected: string[]; extra: string[] };
}

export const same = (a: RowImage | null, b: RowImage | null) => (a === null || b === null ? a === b : JSON.stringify(a) === JSON.stringify(b));

/** Key and image of every row: `SELECT <key> AS key, to_jsonb(t) AS img FROM <table> t`. */
export async function readImages(pool: Pool, table: string, keySql: string): Promise<Map<string, RowImage[]>> {
  const out = new Map<string, RowImage[]>();
  const r = await pool.query<{ key: string; img: RowImage }>(`SELECT ${keySql} AS key, to_jsonb(t) AS img FROM ${table} t`);
  for (const row of r.rows) {
    const list = out.get(row.key);
    if (list) list.push(row.img);
    else out.set(row.key, [row.img]);
  }
  return out;
}

export async function judgeRows(pool: Pool, table: string, keySql: string, baseline: Map<string, RowImage[]>, log: RowLog, sampleLimit = 10): Promise<RowVerdict> {
  const v: RowVerdict = { checked: 0, missing: 0, stale: 0, resurrected: 0, extra: 0, uncertain: 0, samples: { missing: [], stale: [], resurrected: [], extra: [] } };
  const flag = (k: keyof RowVerdict['samples'], key: string) => {
    v[k]++;
    if (v.samples[k].length < sampleLimit) v.samples[k].push(key);
  };
  const now = await readImages(pool, table, keySql);
  const keys = new Set([...baseline.keys(), ...log.keys(), ...now.keys()]);
  for (const key of keys) {
    v.checked++;
    const got = now.get(key) ?? [];
    const logged = log.get(key);
    const base = baseline.get(key);
    if (!logged && !base) { flag('extra', key); continue; }
    if (got.length > 1) { flag('stale', key); continue; }
    const actual = got[0] ?? null;
    const expected = logged ? logged.image : base![0];
    if (logged?.uncertain) {
      v.uncertain++;
      if (logged.uncertain.some((u) => (u === ANY ? actual !== null : same(u, actual)))) continue;
    } else if (same(expected, actual)) continue;
    if (actual === null) flag('missing', key);
    else if (expected === null) flag('resurrected', key);
    else flag('stale', key);
  }
  return v;
}

export const rowVerdictPasses = (v: RowVerdict) => v.missing === 0 && v.stale === 0 && v.resurrected === 0 && v.extra === 0;

export function formatRowVerdict(v: RowVerdict): string {
  const head = `row oracle ${rowVerdictPasses(v) ? 'PASS' : 'FAIL'}: checked ${v.checked} rows: ${v.missing} missing, ${v.stale} stale, ${v.resurrected} resurrected, ${v.extra} extra, ${v.uncertain} uncertain (unanswered statements)`;
  const ex = (['missing', 'stale', 'resurrected', 'extra'] as const).filter((k) => v.samples[k].length).map((k) => `${k} e.g. ${v.samples[k].slice(0, 3).join(', ')}`);
  return ex.length ? `${head}; ${ex.join('; ')}` : head;
}
