import { Pool } from 'pg';
import { qi } from '../../conversion/choice/names';
import { readTableDescriptor } from '../../../activities/conversion/descriptor/read';
import { parseTableName, type TableName } from '../../conversion/choice/names';
import type { TableDescriptor } from '../../../activities/conversion/descriptor/types';
import { chooseKey } from '../../../activities/conversion/plan/analyse';
import { TokenBucket } from '../pacer';
import { Prng } from '../prng';
import { RowLog, type RowImage, type SqlOp } from './row-log';
import { planColumns, type ColumnPlan } from './values';

/**
 * The generic SQL load generator: inserts, updates and deletes on any table through plain SQL
 * (autocommit statements, as an application would), at a paced rate, never two statements on
 * one key at once, logging every committed one with the row image RETURNING gives (after every
 * trigger). Connect it as the application's role: it needs only DML on the table.
 */
export interface SqlLoadOptions {
  /** A postgres:// URL of the application role. */
  url: string;
  /** "schema.name" as the input parser reads it, or an already parsed name (any name Postgres accepts). */
  table: string | TableName;
  ratePerSec: number;
  durationMs?: number;
  mix?: Record<SqlOp, number>;
  seed?: number;
  concurrency?: number;
  /** Values of timestamp/date columns fall in the last `spreadDays` days. */
  spreadDays?: number;
  /** The rows before the load (readImages): the log starts from them, and updates and deletes them like its own. */
  baseline?: Map<string, RowImage[]>;
}

export interface SqlLoadStats {
  sent: number;
  committed: number;
  refused: number;
  unanswered: number;
  inFlight: number;
  lastError?: string;
  elapsedMs: number;
}

export interface SqlLoadHandle {
  log: RowLog;
  done: Promise<RowLog>;
  stop(): Promise<RowLog>;
  stats(): SqlLoadStats;
}

/** `json_build_array(k1::text, …)::text` of alias t: the key as the log and the oracle write it. */
export const keySql = (keyColumns: string[], alias = 't') => `json_build_array(${keyColumns.map((k) => `${alias}.${qi(k)}::text`).join(', ')})::text`;

/** The heap's key of a descriptor (primary key or unique not-null key), as the log keys rows. */
export function rowKeyOf(d: TableDescriptor): string[] {
  const k = chooseKey(d);
  if (!k) throw new Error(`loadgen: ${d.qualified} has no primary key or unique not-null key to find rows by`);
  return k.columns;
}

/** Connection-level failures: the statement may or may not have committed. */
const AMBIGUOUS = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08003', '08006']);
const isAmbiguous = (err: unknown) => {
  const code = (err as { code?: string }).code;
  return (code !== undefined && AMBIGUOUS.has(code)) || /Connection terminated|connection.*(lost|closed)/i.test(String((err as Error).message));
};

export async function startSqlLoad(o: SqlLoadOptions): Promise<SqlLoadHandle> {
  const pool = new Pool({ connectionString: o.url, max: o.concurrency ?? 8, application_name: 'lichen-loadgen-sql' });
  pool.on('error', () => undefined);
  const d = await pool.connect().then(async (c) => {
    try {
      return await readTableDescriptor(c, typeof o.table === 'string' ? parseTableName(o.table) : o.table);
    } finally {
      c.release();
    }
  });
  const key = rowKeyOf(d);
  const keyTypes = key.map((k) => d.columns.find((c) => c.name === k)!.type);
  const cols: ColumnPlan[] = await planColumns(pool, d, { spreadMs: (o.spreadDays ?? 30) * 86_400_000, now: Date.now() });
  const mutable = cols.filter((c) => !key.includes(c.column.name));
  const rng = new Prng(o.seed ?? 1);
  const log = new RowLog();
  const live: string[] = [];
  for (const [k, images] of o.baseline ?? []) {
    if (images.length !== 1) continue; // a key held twice is the oracle's to report, never written
    log.adopt(k, images[0]);
    live.push(k);
  }
  const busy = new Set<string>();
  const mix = o.mix ?? { insert: 4, update: 4, delete: 2 };
  const concurrency = o.concurrency ?? 8;
  const t0 = performance.now();
  let sent = 0;
  let inFlight = 0;
  let stopping = false;
  let lastError: string | undefined;
  const ret = `RETURNING ${keySql(key)} AS key, to_jsonb(t) AS img`;
  const whereKey = (from: number) => `(${key.map((k) => `t.${qi(k)}`).join(', ')}) = (${key.map((_, i) => `$${from + i}::${keyTypes[i]}`).join(', ')})`;

  const pick = (): string | undefined => {
    for (let i = 0; i < 8 && live.length; i++) {
      const k = live[rng.int(live.length)];
      if (!busy.has(k)) return k;
    }
    return undefined;
  };
  const forget = (k: string) => {
    const i = live.indexOf(k);
    if (i >= 0) live.splice(i, 1);
  };

  async function one(): Promise<void> {
    let op = rng.weighted(mix);
    const target = op === 'insert' ? undefined : pick();
    if (op !== 'insert' && !target) op = 'insert';
    if (target) busy.add(target);
    sent++;
    try {
      if (op === 'insert') {
        const chosen = cols;
        const sql = `INSERT INTO ${d.qualified} AS t (${chosen.map((c) => qi(c.column.name)).join(', ')}) VALUES (${chosen.map((c, i) => `$${i + 1}::${c.column.type}`).join(', ')}) ${ret}`;
        try {
          const r = await pool.query<{ key: string; img: RowImage }>(sql, chosen.map((c) => c.value(rng)));
          const row = r.rows[0];
          log.commit('insert', row.key, row.img);
          live.push(row.key);
        } catch (err) {
          if (!isAmbiguous(err)) { log.refuse('insert'); lastError = (err as Error).message; return; }
          lastError = (err as Error).message;
          log.unanswer('insert', `unanswered-insert-${sent}`, 'any');
        }
        return;
      }
      const k = target!;
      const keyVals = JSON.parse(k) as string[];
      if (op === 'update') {
        const n = Math.max(1, Math.min(mutable.length, 1 + rng.int(3)));
        const chosen = [...mutable].sort(() => rng.next() - 0.5).slice(0, n);
        if (!chosen.length) return;
        const sql = `UPDATE ${d.qualified} AS t SET ${chosen.map((c, i) => `${qi(c.column.name)} = $${i + 1}::${c.column.type}`).join(', ')} WHERE ${whereKey(chosen.length + 1)} ${ret}`;
        try {
          const r = await pool.query<{ key: string; img: RowImage }>(sql, [...chosen.map((c) => c.value(rng)), ...keyVals]);
          if (r.rows.length === 1) log.commit('update', k, r.rows[0].img);
          else { log.refuse('update'); lastError = `update of ${k} matched ${r.rows.length} rows`; }
        } catch (err) {
          if (!isAmbiguous(err)) { log.refuse('update'); lastError = (err as Error).message; return; }
          log.unanswer('update', k, 'any');
          forget(k);
        }
        return;
      }
      try {
        const r = await pool.query(`DELETE FROM ${d.qualified} AS t WHERE ${whereKey(1)} RETURNING 1`, keyVals);
        if (r.rowCount === 1) { log.commit('delete', k, null); forget(k); }
        else { log.refuse('delete'); lastError = `delete of ${k} matched ${r.rowCount} rows`; }
      } catch (err) {
        if (!isAmbiguous(err)) { log.refuse('delete'); lastError = (err as Error).message; return; }
        log.unanswer('delete', k, null);
        forget(k);
      }
    } finally {
      if (target) busy.delete(target);
    }
  }

  let wake: () => void = () => undefined;
  const nap = (ms: number) => new Promise<void>((r) => { const t = setTimeout(r, ms); wake = () => { clearTimeout(t); r(); }; });
  const run = async (): Promise<RowLog> => {
    const deadline = o.durationMs === undefined ? Infinity : t0 + o.durationMs;
    const bucket = new TokenBucket(o.ratePerSec, Math.max(1, o.ratePerSec / 10), t0);
    const running = new Set<Promise<void>>();
    while (!stopping && performance.now() < deadline) {
      const now = performance.now();
      if (inFlight >= concurrency) await Promise.race(running);
      else if (bucket.tryTake(now)) {
        inFlight++;
        const p: Promise<void> = one().catch((err) => { lastError = `client error: ${(err as Error).stack ?? err}`; }).finally(() => { inFlight--; running.delete(p); });
        running.add(p);
      } else await nap(Math.max(1, Math.min(200, bucket.msUntilNext(now))));
    }
    await Promise.all(running);
    await pool.end();
    return log;
  };
  const done = run();
  return {
    log,
    done,
    stop() {
      stopping = true;
      wake();
      return done;
    },
    stats: () => ({
      sent, inFlight, lastError, elapsedMs: performance.now() - t0,
      committed: log.committed.insert + log.committed.update + log.committed.delete,
      refused: log.refused.insert + log.refused.update + log.refused.delete,
      unanswered: log.unanswered.insert + log.unanswered.update + log.unanswered.delete,
    }),
  };
}
