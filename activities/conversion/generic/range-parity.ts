import { Context } from '@temporalio/activity';
import type { ClientBase } from 'pg';
import type { ConversionPlan } from '../plan/plan';
import { parityFromPhase, type RangeCompareSql, type RangeParitySql } from '../plan/range-parity-sql';
import { phase } from './execute';
import { throttleScan, type ScanThrottle } from './throttle';

export interface Sums { count: string; sum: string }

/** The heartbeat of the ranged parity: where to resume, and the progress an operator reads. */
export interface RangeParityCheckpoint {
  /** The next range starts after this key (null: from the first). */
  lo: (string | null)[] | null;
  table: Sums;
  shadow: Sums;
  ranges: number;
  rows: number;
  repaired: number;
  /** Ranges that still differed after their repairs (each named by its bounds; the first MAX_NAMED only). */
  differing: string[];
  /** How many ranges differed (absent in checkpoints from before: `differing.length`). */
  differingRanges?: number;
  progress: { percent: number; rowsPerSecond: number; etaSeconds: number | null; total: number };
  /** While the scan waits on the replica-lag throttle: why (`paused: …`); absent while it runs. */
  pausedBecause?: string;
  /** Time spent paused by that throttle, over every slice (absent before any pause). */
  pausedMs?: number;
}

export interface RangeParityOptions {
  /** Rows per range (its snapshot's length is about the time to read this many rows twice). */
  rangeRows: number;
  /** The copy's rate bound, applied to the rows read on the heap side (none: unbounded). */
  maxRowsPerSecond?: number;
  /** The replica-lag and slot limits (throttle.ts): checked before each range and each repair round. */
  throttle?: ScanThrottle;
  /** Rows expected (the data facts carried from preflight): the progress's 100%. */
  expectedRows: number;
  /** Repair rounds of one range before it is reported as differing. */
  maxRepairs?: number;
  /** Before a repair: partitions for the keys the sync kept out (pending keys), and their replay. */
  settle?: () => Promise<unknown>;
  /** The checkpoint a previous slice returned (a heartbeat of this attempt wins over it). */
  from?: RangeParityCheckpoint;
  /** End the slice after about this long (ms), at a range's end: the workflow shows the progress and calls again. */
  sliceMs?: number;
}

const add = (a: Sums, b: Sums): Sums => ({ count: (BigInt(a.count) + BigInt(b.count)).toString(), sum: (BigInt(a.sum) + BigInt(b.sum)).toString() });
const same = (a: Sums, b: Sums) => a.count === b.count && a.sum === b.sum;
const ZERO: Sums = { count: '0', sum: '0' };
/** Differing ranges named in a checkpoint (the rest are counted). */
export const MAX_NAMED = 20;

/**
 * Parity per key range, each range in its own short REPEATABLE READ READ ONLY snapshot of both
 * tables (the sync writes the shadow in the writer's transaction, so in one snapshot the two are
 * equal); a range that differs is repaired key by key from the heap's current state and compared
 * again. Heartbeats a resumable checkpoint with the progress (%, rows/s, ETA) after every range,
 * honours cancellation between ranges, and keeps the copy's rate bound and the replica-lag
 * throttle (before each range and each repair: while over a limit it waits, its heartbeat saying
 * why in `pausedBecause`, and goes on once under).
 */
export async function rangeParity(c: ClientBase, p: ConversionPlan, o: RangeParityOptions): Promise<RangeParityCheckpoint & { done: boolean }> {
  const sql = parityFromPhase(phase(p, 'parity'));
  if (!sql) throw new Error(`the plan of ${p.table} has no ranged parity`);
  return rangeCompare(c, { sql, keyLength: p.key!.columns.length, left: p.table, right: 'shadow' }, o);
}

/** Two tables over one key: the statements of their ranges and the names a differing range is reported with. */
export interface RangeSource {
  sql: RangeCompareSql & Partial<Pick<RangeParitySql, 'repair'>>;
  keyLength: number;
  /** Names in the report of a differing range. */
  left: string;
  right: string;
}

/**
 * rangeParity's loop over any two tables (the checkpoint's `table` sums `left`, its `shadow` sums
 * `right`). Without `sql.repair` (after the swap: the partitioned table and the old heap) no range
 * is repaired; a differing one is only reported.
 */
export async function rangeCompare(c: ClientBase, src: RangeSource, o: RangeParityOptions): Promise<RangeParityCheckpoint & { done: boolean }> {
  const sql = src.sql;
  const k = src.keyLength;
  const ctx = Context.current();
  const prior = (ctx.info.heartbeatDetails as RangeParityCheckpoint | undefined) ?? o.from;
  const cp: RangeParityCheckpoint = prior ? structuredClone(prior) : { lo: null, table: ZERO, shadow: ZERO, ranges: 0, rows: 0, repaired: 0, differing: [], progress: { percent: 0, rowsPerSecond: 0, etaSeconds: null, total: o.expectedRows } };
  delete cp.pausedBecause; // a pause is re-measured, never carried
  const t0 = Date.now();
  const rowsAtStart = cp.rows;
  const nulls = Array<null>(k).fill(null);
  /** `last`: every range compared, 100% (fewer rows than expected when deletes outran inserts since preflight). */
  const beat = (last = false) => {
    const rate = ((cp.rows - rowsAtStart) / Math.max(1, Date.now() - t0)) * 1000;
    const total = last ? cp.rows : Math.max(o.expectedRows, cp.rows);
    cp.progress = { percent: total ? Math.min(100, Math.floor((cp.rows / total) * 100)) : 100, rowsPerSecond: Math.round(rate), etaSeconds: rate > 0 ? Math.round((total - cp.rows) / rate) : null, total };
    ctx.heartbeat(structuredClone(cp)); // a copy: the checkpoint goes on changing after the call
  };
  // The database's other consumers: no range is read (nor repaired) while a standby or a slot is
  // behind beyond the limits; the heartbeat says why while it waits.
  const throttle = async () => {
    const ms = await throttleScan(c, o.throttle, (why) => {
      if (why) cp.pausedBecause = why;
      else delete cp.pausedBecause;
      beat();
    });
    if (ms) cp.pausedMs = (cp.pausedMs ?? 0) + ms;
  };
  for (;;) {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    await throttle();
    const lo = cp.lo ?? nulls;
    let r = await compareRange(c, sql, lo, o.rangeRows);
    for (let round = 0; !same(r.a, r.b) && sql.repair && round < (o.maxRepairs ?? 3); round++) {
      await throttle();
      await o.settle?.();
      const keys = (await c.query<{ key: (string | null)[] }>(sql.differing, [...lo, ...(r.upper ?? nulls), 10_000])).rows.map((x) => x.key);
      for (const key of keys) await c.query(sql.repair!, key);
      cp.repaired += keys.length;
      beat();
      // The same range again (its upper key as before: a row inserted into it meanwhile is compared too).
      r = await compareRange(c, sql, lo, o.rangeRows, r.upper);
    }
    if (!same(r.a, r.b)) cp.differingRanges = (cp.differingRanges ?? cp.differing.length) + 1;
    // Bounded: a checkpoint is heartbeated and returned into the history, however many ranges differ.
    if (!same(r.a, r.b) && cp.differing.length < MAX_NAMED) cp.differing.push(`(${lo.join(', ')}] .. (${(r.upper ?? ['end']).join(', ')}]: ${src.left} ${r.a.count} rows, ${src.right} ${r.b.count}`);
    cp.table = add(cp.table, r.a);
    cp.shadow = add(cp.shadow, r.b);
    cp.rows += Number(r.a.count);
    cp.ranges++;
    if (!r.upper) {
      beat(true);
      return { ...cp, done: true };
    }
    cp.lo = r.upper;
    beat();
    if (o.sliceMs !== undefined && Date.now() - t0 >= o.sliceMs) return { ...cp, done: false };
    // The rate bound on what this attempt read, in slices (a long pause must not look like a dead worker).
    if (o.maxRowsPerSecond) {
      for (let due = ((cp.rows - rowsAtStart) / o.maxRowsPerSecond) * 1000 - (Date.now() - t0); due > 0; due = ((cp.rows - rowsAtStart) / o.maxRowsPerSecond) * 1000 - (Date.now() - t0)) {
        await ctx.sleep(Math.min(due, 1000));
        beat();
      }
    }
  }
}

/** One range: its upper key (unless given) and both checksums, in one short snapshot. */
async function compareRange(c: ClientBase, sql: RangeCompareSql, lo: (string | null)[], rangeRows: number, given?: (string | null)[] | null): Promise<{ upper: (string | null)[] | null; a: Sums; b: Sums }> {
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await c.query(`SELECT set_config('row_security', 'off', true)`); // every row or an error, never a filter
    const upper = given !== undefined ? given : ((await c.query<{ upper: (string | null)[] }>(sql.upper, [...lo, rangeRows])).rows[0]?.upper ?? null);
    const bounds = [...lo, ...(upper ?? lo.map(() => null))];
    const a = (await c.query<Sums>(sql.heap, bounds)).rows[0];
    const b = (await c.query<Sums>(sql.shadow, bounds)).rows[0];
    return { upper, a, b };
  } finally {
    await c.query('COMMIT');
  }
}
