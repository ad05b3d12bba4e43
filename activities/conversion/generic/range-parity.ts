import { Context } from '@temporalio/activity';
import type { ClientBase } from 'pg';
import type { ConversionPlan } from '../plan/plan';
import { nextBoundSql, parityFromPhase, partitionBoundsSql, partitionRangeSql, rangeBound, type RangeCompareSql, type RangeParitySql } from '../plan/range-parity-sql';
import { rowsEstimate } from '../plan/rows-estimate';
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
  /** Ranges over the partitions (absent: key ranges, as runs before): where the next range starts. */
  part?: PartitionCursor;
  /** Ranges over the partitions: each partition's result (and the rows outside every partition), in bound order. */
  partitions?: PartitionParity[];
  /** Matching partitions left out of `partitions` beyond MAX_PARTITIONS (every differing one is kept). */
  partitionsOmitted?: number;
}

/** Where the next partition range starts. */
export interface PartitionCursor {
  /** The range's lower bound on the partition column (null: below every bound). */
  from: string | null;
  /** Inside a partition split into key sub-ranges (checkpoints from before `within`): the next one starts after this key (null: from the first). */
  key: (string | null)[] | null;
  /** Inside a partition split into sub-ranges of the column: the next one starts at this value (absent: at `from`). */
  within?: string;
  /** The last range: the rows whose partition column is NULL. */
  nulls?: boolean;
}

/** One partition's result (or the rows of a gap between partitions: the DEFAULT partition's, or none). */
export interface PartitionParity {
  /** The partition's name; rows outside every partition's bound: the DEFAULT partition's name, else `(outside every partition)`. */
  partition: string;
  /** `[from, to)` of the partition column (`-∞` / `+∞` open), or `NULL` for the rows whose column is NULL. */
  bound: string;
  table: string;
  shadow: string;
  /** Equal after its repairs (every sub-range of it). */
  match: boolean;
  /** Keys re-copied from the heap into it. */
  repaired: number;
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

/** The ranges over the partitions of `shadow` (partitionRangeSql's statements): the column's name and base type. */
export interface PartitionRanges {
  shadow: string;
  column: string;
  type: string;
}


const add = (a: Sums, b: Sums): Sums => ({ count: (BigInt(a.count) + BigInt(b.count)).toString(), sum: (BigInt(a.sum) + BigInt(b.sum)).toString() });
const same = (a: Sums, b: Sums) => a.count === b.count && a.sum === b.sum;
const ZERO: Sums = { count: '0', sum: '0' };
/** Differing ranges named in a checkpoint (the rest are counted). */
export const MAX_NAMED = 20;
/** Partition results kept in a checkpoint (it is heartbeated and returned into the history): beyond, only differing ones. */
export const MAX_PARTITIONS = 400;

/**
 * Parity per key range, each range in its own short REPEATABLE READ READ ONLY snapshot of both
 * tables (the sync writes the shadow in the writer's transaction, so in one snapshot the two are
 * equal); a range that differs is repaired key by key from the heap's current state and compared
 * again. Heartbeats a resumable checkpoint with the progress (%, rows/s, ETA) after every range,
 * honours cancellation between ranges, and keeps the copy's rate bound and the replica-lag
 * throttle (before each range and each repair: while over a limit it waits, its heartbeat saying
 * why in `pausedBecause`, and goes on once under).
 */
export async function rangeParity(c: ClientBase, p: ConversionPlan, o: RangeParityOptions, parts?: { column: string; type: string; keyTypes: string[] }): Promise<RangeParityCheckpoint & { done: boolean }> {
  const keyed = parityFromPhase(phase(p, 'parity'));
  if (!keyed) throw new Error(`the plan of ${p.table} has no ranged parity`);
  const k = p.key!.columns.length;
  const prior = (Context.current().info.heartbeatDetails as RangeParityCheckpoint | undefined) ?? o.from;
  if (!parts || (prior && !prior.part)) return rangeCompare(c, { sql: keyed, keyLength: k, left: p.table, right: 'shadow' }, o);
  // The same comparison and repair per key, over the partitions' ranges (the change-log engine leaves logged keys out, as the key ranges do).
  const sql = { ...partitionRangeSql({ columns: p.key!.columns, types: parts.keyTypes }, { name: parts.column, type: parts.type }, p.table, p.names.shadow, p.changeLog?.notLogged), repair: keyed.repair };
  return rangeCompare(c, { sql, keyLength: k, left: p.table, right: 'shadow' }, o, { shadow: p.names.shadow, column: parts.column, type: parts.type });
}

/** Two tables over one key: the statements of their ranges and the names a differing range is reported with. */
export interface RangeSource {
  sql: RangeCompareSql & Partial<Pick<RangeParitySql, 'repair'>>;
  keyLength: number;
  /** Names in the report of a differing range. */
  left: string;
  right: string;
}

/** One range compared in its snapshot: both sums, what names it, how to compare it again and where the next starts. */
interface Step {
  a: Sums;
  b: Sums;
  /** The `differing` statement's parameters (before its limit). */
  bounds: unknown[];
  label: string;
  /** The same range again, in a new snapshot (after a repair). */
  again(): Promise<{ a: Sums; b: Sums }>;
  /** Moves the checkpoint past this range; false: it was the last. */
  advance(cp: RangeParityCheckpoint): boolean;
  /** The partition this range belongs to (ranges over the partitions only). */
  partition?: { name: string; bound: string; own: boolean };
}

/**
 * rangeParity's loop over any two tables (the checkpoint's `table` sums `left`, its `shadow` sums
 * `right`). Without `sql.repair` (after the swap: the partitioned table and the old heap) no range
 * is repaired; a differing one is only reported. With `parts` (and no key-range checkpoint to
 * resume) the ranges follow the partitions of `parts.shadow` (partitionRangeSql's statements in `sql`).
 */
export async function rangeCompare(c: ClientBase, src: RangeSource, o: RangeParityOptions, parts?: PartitionRanges): Promise<RangeParityCheckpoint & { done: boolean }> {
  const sql = src.sql;
  const k = src.keyLength;
  const ctx = Context.current();
  const prior = (ctx.info.heartbeatDetails as RangeParityCheckpoint | undefined) ?? o.from;
  const cp: RangeParityCheckpoint = prior ? structuredClone(prior) : { lo: null, table: ZERO, shadow: ZERO, ranges: 0, rows: 0, repaired: 0, differing: [], progress: { percent: 0, rowsPerSecond: 0, etaSeconds: null, total: o.expectedRows } };
  // A checkpoint decides: a run that began on key ranges ends on them.
  const byPartition = parts && (!prior || prior.part) ? parts : undefined;
  if (byPartition && !cp.part) {
    cp.part = { from: null, key: null };
    cp.partitions = [];
  }
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
  const next = (): Promise<Step> => (byPartition ? partitionStep(c, sql, byPartition, cp.part!, k, o.rangeRows) : keyStep(c, sql, cp.lo ?? nulls, o.rangeRows));
  for (;;) {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    await throttle();
    const r = await next();
    let repaired = 0;
    for (let round = 0; !same(r.a, r.b) && sql.repair && round < (o.maxRepairs ?? 3); round++) {
      await throttle();
      await o.settle?.();
      const keys = (await c.query<{ key: (string | null)[] }>(sql.differing, [...r.bounds, 10_000])).rows.map((x) => x.key);
      for (const key of keys) await c.query(sql.repair!, key);
      cp.repaired += keys.length;
      repaired += keys.length;
      beat();
      // The same range again (its upper key as before: a row inserted into it meanwhile is compared too).
      Object.assign(r, await r.again());
    }
    if (!same(r.a, r.b)) cp.differingRanges = (cp.differingRanges ?? cp.differing.length) + 1;
    // Bounded: a checkpoint is heartbeated and returned into the history, however many ranges differ.
    if (!same(r.a, r.b) && cp.differing.length < MAX_NAMED) cp.differing.push(`${r.label}: ${src.left} ${r.a.count} rows, ${src.right} ${r.b.count}`);
    if (r.partition) notePartition(cp, r.partition, r.a, r.b, repaired);
    cp.table = add(cp.table, r.a);
    cp.shadow = add(cp.shadow, r.b);
    cp.rows += Number(r.a.count);
    cp.ranges++;
    if (!r.advance(cp)) {
      beat(true);
      return { ...cp, done: true };
    }
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

/** The next key range `(lo, upper]`. */
async function keyStep(c: ClientBase, sql: RangeCompareSql, lo: (string | null)[], rangeRows: number): Promise<Step> {
  const r = await compareRange(c, sql, lo, rangeRows);
  const upper = r.upper ?? lo.map(() => null);
  return {
    a: r.a, b: r.b, bounds: [...lo, ...upper],
    label: `(${lo.join(', ')}] .. (${(r.upper ?? ['end']).join(', ')}]`,
    again: () => compareRange(c, sql, lo, rangeRows, r.upper),
    advance: (cp) => {
      if (!r.upper) return false;
      cp.lo = r.upper;
      return true;
    },
  };
}

/** A partition's result into the checkpoint: its key sub-ranges add up in one entry. */
function notePartition(cp: RangeParityCheckpoint, p: { name: string; bound: string; own: boolean }, a: Sums, b: Sums, repaired: number): void {
  const list = (cp.partitions ??= []);
  const last = list[list.length - 1];
  const entry = last && last.partition === p.name && last.bound === p.bound ? last : { partition: p.name, bound: p.bound, table: '0', shadow: '0', match: true, repaired: 0 };
  if (entry !== last) {
    // A gap (or the NULL range) with no row on either side and no repair is no result; past the bound only differing partitions are kept.
    if (a.count === '0' && b.count === '0' && !repaired && !p.own) return;
    if (list.length >= MAX_PARTITIONS && same(a, b)) {
      cp.partitionsOmitted = (cp.partitionsOmitted ?? 0) + 1;
      return;
    }
    list.push(entry);
  }
  entry.table = (BigInt(entry.table) + BigInt(a.count)).toString();
  entry.shadow = (BigInt(entry.shadow) + BigInt(b.count)).toString();
  entry.match &&= same(a, b);
  entry.repaired += repaired;
}

/** The name of the rows between (or around) the partitions when the shadow has no DEFAULT partition. */
export const OUTSIDE = '(outside every partition)';

/**
 * The next partition range from the cursor, in one short snapshot: the partitions' bounds are read
 * (a partition made since the last range is followed too), the range ends at the next bound above
 * its start; a range whose partition has more rows than `budget` (the planner's estimate) is
 * compared in sub-ranges of about `budget` rows on the column (`[within, upper)`: each reads only
 * its own rows on both sides), or, resuming a checkpoint or with statements from before them, in
 * key sub-ranges (each re-reads the heap's rows of the whole bound).
 */
async function partitionStep(c: ClientBase, sql: RangeCompareSql, parts: PartitionRanges, cur: PartitionCursor, k: number, budget: number): Promise<Step> {
  const nulls = Array<null>(k).fill(null);
  const keyLo = cur.key ?? nulls;
  if (cur.nulls) {
    const params = (hi: (string | null)[] | null) => [null, null, true, ...keyLo, ...(hi ?? nulls)];
    const r = await compareIn(c, sql, params, null);
    return {
      a: r.a, b: r.b, bounds: params(null), label: `${parts.column} NULL`, partition: { name: await defaultName(c, parts.shadow), bound: 'NULL', own: false },
      again: () => compareIn(c, sql, params, null), advance: () => false,
    };
  }
  const list = (await c.query<{ name: string; rel: string; bound: string }>(partitionBoundsSql, [parts.shadow])).rows;
  const ranged = list.map((x) => ({ ...x, range: rangeBound(x.bound) })).filter((x) => x.range);
  const values = [...new Set(ranged.flatMap((x) => x.range!).filter((v): v is string => v !== null))];
  const b = (await c.query<{ next: string | null; at: string | null; lo: (string | null)[]; hi: (string | null)[] }>(nextBoundSql(parts.type), [values, cur.from, ranged.map((x) => x.range![0]), ranged.map((x) => x.range![1])])).rows[0];
  const to = b.next;
  const own = ranged.findIndex((_, i) => b.lo[i] === b.at && b.hi[i] === to);
  const dflt = list.find((x) => x.bound === 'DEFAULT');
  const name = own >= 0 ? ranged[own].name : dflt?.name ?? OUTSIDE;
  const bound = `[${b.at ?? '-∞'}, ${to ?? '+∞'})`;
  // Split only a range found too large at its start (a range already split goes on in sub-ranges of the same kind).
  let split = cur.key !== null || cur.within !== undefined;
  if (!split) {
    const part = own >= 0 ? ranged[own].rel : dflt?.rel;
    split = part !== undefined && (await rowsEstimate(c, part)) > budget;
  }
  if (split && sql.columnUpper && cur.key === null) return columnSubRange(c, sql, cur, to, { name, bound, own: own >= 0 }, nulls, budget);
  const params = (hi: (string | null)[] | null) => [cur.from, to, false, ...keyLo, ...(hi ?? nulls)];
  const r = await compareIn(c, sql, params, split ? budget : null);
  return {
    a: r.a, b: r.b, bounds: params(r.upper), partition: { name, bound, own: own >= 0 },
    label: `${name} ${bound}${split ? ` keys (${keyLo.join(', ')}] .. (${(r.upper ?? ['end']).join(', ')}]` : ''}`,
    again: () => compareIn(c, sql, params, null, r.upper),
    advance: (cp) => {
      if (r.upper) cp.part = { from: cur.from, key: r.upper };
      else if (to !== null) cp.part = { from: to, key: null };
      else cp.part = { from: null, key: null, nulls: true };
      return true;
    },
  };
}

/**
 * The next sub-range `[within, upper)` of the column inside a large partition's range `[from, to)`:
 * its upper value found and both sides compared in one short snapshot.
 */
async function columnSubRange(c: ClientBase, sql: RangeCompareSql, cur: PartitionCursor, to: string | null, partition: { name: string; bound: string; own: boolean }, nulls: null[], budget: number): Promise<Step> {
  const lo = cur.within ?? cur.from;
  const params = (hi: string | null) => [lo, hi, false, ...nulls, ...nulls];
  const compare = (given?: string | null) => inSnapshot(c, async () => {
    const upper = given !== undefined ? given : ((await c.query<{ upper: string | null }>(sql.columnUpper!, [lo, to, false, budget])).rows[0]?.upper ?? null);
    return { upper, ...(await sums(c, sql, params(upper ?? to), true)) };
  });
  const r = await compare();
  const hi = r.upper ?? to;
  return {
    a: r.a, b: r.b, bounds: params(hi), partition,
    label: `${partition.name} ${partition.bound} sub-range [${lo ?? '-∞'}, ${hi ?? '+∞'})`,
    again: () => compare(r.upper),
    advance: (cp) => {
      if (r.upper !== null) cp.part = { from: cur.from, key: null, within: r.upper };
      else if (to !== null) cp.part = { from: to, key: null };
      else cp.part = { from: null, key: null, nulls: true };
      return true;
    },
  };
}

const defaultName = async (c: ClientBase, shadow: string) => (await c.query<{ name: string; bound: string }>(partitionBoundsSql, [shadow])).rows.find((x) => x.bound === 'DEFAULT')?.name ?? OUTSIDE;

/** The parameters without the upper key (partitionRangeSql's `upper` takes none): $1..$3 and the lower key. */
const lowerOnly = (p: unknown[]) => p.slice(0, 3 + (p.length - 3) / 2);

/** One partition range (or key sub-range of it: `budget` rows from the lower key in `params`): its upper key and both checksums, in one short snapshot. */
function compareIn(c: ClientBase, sql: RangeCompareSql, params: (hi: (string | null)[] | null) => unknown[], budget: number | null, given?: (string | null)[] | null): Promise<{ upper: (string | null)[] | null; a: Sums; b: Sums }> {
  return inSnapshot(c, async () => {
    const upper = given !== undefined ? given : budget === null ? null : ((await c.query<{ upper: (string | null)[] }>(sql.upper, [...lowerOnly(params(null)), budget])).rows[0]?.upper ?? null);
    return { upper, ...(await sums(c, sql, params(upper))) };
  });
}

/** `fn` in one short REPEATABLE READ READ ONLY snapshot that sees every row (row security off: every row or an error, never a filter). */
async function inSnapshot<T>(c: ClientBase, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await c.query(`SELECT set_config('row_security', 'off', true)`);
    return await fn();
  } finally {
    await c.query('COMMIT');
  }
}

/**
 * Both sides' sums of one partition range, in the caller's snapshot. `subRange`: a sub-range of a
 * partition, whose shadow side is read through the partition's index on the column too.
 */
async function sums(c: ClientBase, sql: RangeCompareSql, params: unknown[], subRange = false): Promise<{ a: Sums; b: Sums }> {
  // The heap's rows of the bound through its index on the column (a bitmap scan reads each page once, in order), never a
  // whole-heap scan per partition, whatever the planner thinks of a bound holding a large share of the table.
  await c.query(`SET LOCAL enable_seqscan = off`);
  const a = (await c.query<Sums>(sql.heap, params)).rows[0];
  // The shadow's side: its partition read whole; a sub-range's rows only (a sequential scan of the partition per sub-range would read it once per sub-range).
  if (!subRange) await c.query(`SET LOCAL enable_seqscan = on`);
  const b = (await c.query<Sums>(sql.shadow, params)).rows[0];
  return { a, b };
}

/** One range: its upper key (unless given) and both checksums, in one short snapshot. */
function compareRange(c: ClientBase, sql: RangeCompareSql, lo: (string | null)[], rangeRows: number, given?: (string | null)[] | null): Promise<{ upper: (string | null)[] | null; a: Sums; b: Sums }> {
  return inSnapshot(c, async () => {
    const upper = given !== undefined ? given : ((await c.query<{ upper: (string | null)[] }>(sql.upper, [...lo, rangeRows])).rows[0]?.upper ?? null);
    const bounds = [...lo, ...(upper ?? lo.map(() => null))];
    const a = (await c.query<Sums>(sql.heap, bounds)).rows[0];
    const b = (await c.query<Sums>(sql.shadow, bounds)).rows[0];
    return { upper, a, b };
  });
}
