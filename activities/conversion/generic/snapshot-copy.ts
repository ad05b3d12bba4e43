import type { Pool, PoolClient } from 'pg';
import { checkout } from '../../../src/config/pg-checkout';
import { qi, withSuffix } from '../../../src/conversion/choice/names';
import type { ConversionPlan } from '../plan/plan';
import { retargetIndexDef } from '../plan/sqltext';

/**
 * The change-log engine's copy (plan/change-log.ts): after the log's trigger is committed, one
 * session exports a snapshot (REPEATABLE READ, held open while the lanes run); each lane imports
 * it (`SET TRANSACTION SNAPSHOT`) and, for one partition of the shadow at a time: a plain table
 * like the shadow (no index) with the partition's bound as a CHECK; then in ONE transaction under
 * the snapshot it bulk-inserts the heap's rows of that bound (no conflict handling), builds the
 * parent's indexes and key constraints on it, and replaces the shadow's empty partition with it —
 * the owner and grants, ATTACH (which takes the indexes for the parent's; the CHECK spares the
 * scan), the CHECK dropped. A crash or an abort inside a
 * partition rolls all of it back: the partition is redone by the next attempt, under a new
 * snapshot — correct because the log is replayed from its start after the copy (a key that moved
 * between two partitions copied under different snapshots is logged, and the replay deletes every
 * image of it before inserting the heap's current row).
 */
export interface SnapshotCopyCheckpoint {
  /** Partitions filled and attached (names, raw). */
  done: string[];
  rows: number;
}

/** A retry of the copy that went on from the checkpoint its earlier attempt heartbeated (the summary's copy.resumes). */
export interface SnapshotCopyResume {
  attempt: number;
  /** What the earlier attempts had done: partitions filled and attached, rows. */
  partitionsBefore: number;
  rowsBefore: number;
  /** The first partition left when it resumed (null: none left). */
  resumedAt: string | null;
}

export interface SnapshotCopyOptions {
  parallelism: number;
  from?: SnapshotCopyCheckpoint;
  /** Called after each partition and every few seconds while one is filled (the activity heartbeats it). */
  beat: (cp: SnapshotCopyCheckpoint) => void;
  /** Aborted: the lanes' queries are cancelled and the copy throws. */
  signal?: AbortSignal;
  beatMs?: number;
  /** The rate bound over all lanes (`copy.maxRowsPerSecond`; 0 or absent: none): each lane inserts in chunks, pausing to keep its share. */
  maxRowsPerSecond?: number;
  /**
   * A slice: once this long has passed, no lane takes a new partition (those being filled are
   * finished) and the copy returns with `complete` false; the next slice goes on from the
   * checkpoint under a new snapshot (correct as a redone partition is: the log is replayed from
   * its start). Absent: to the end.
   */
  sliceMs?: number;
  /**
   * The replica-lag throttle (`copy.maxReplicaLagMs` / `copy.maxSlotRetainedWalBytes`): asked before
   * a lane takes its next partition; a reason stops the slice there like `sliceMs` does (the
   * partitions being filled are finished), so the exported snapshot is not held through the
   * pause: the next slice waits for the standbys before it exports a new one. Absent: no limit.
   */
  lagging?: () => Promise<string | null>;
}

interface Part { schema: string; name: string; forValues: string; constraint: string | null; options: string | null; tablespace: string | null }

/** The shadow's partitions (the DEFAULT one last: its bound is what the others leave). */
async function partitionsOf(pool: Pool, shadow: string): Promise<Part[]> {
  const r = await pool.query<Part & { isDefault: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS "forValues", pg_get_partition_constraintdef(c.oid) AS constraint,
            array_to_string(c.reloptions, ', ') AS options, t.spcname AS tablespace, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS "isDefault"
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
      WHERE i.inhparent = to_regclass($1) ORDER BY 7, 2`, [shadow]);
  return r.rows;
}

/** An index of the shadow (partitioned): its definition, or the key constraint it backs. */
interface ParentIndex { def: string; method: string; condef: string | null }

async function indexesOf(pool: Pool, shadow: string): Promise<ParentIndex[]> {
  const r = await pool.query<ParentIndex>(
    `SELECT pg_get_indexdef(i.indexrelid) AS def, am.amname AS method, pg_get_constraintdef(con.oid) AS condef
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
       LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
      WHERE i.indrelid = to_regclass($1) ORDER BY ic.relname`, [shadow]);
  return r.rows;
}

/**
 * The parent's indexes built on the plain table after its rows are in (a key constraint as a
 * constraint, so ATTACH takes it for the parent's), in the lane, before the swap-in: lanes build
 * in parallel and the swap-in only attaches them. Postgres names them after the plain table,
 * choosing a free name: a partition redone by a retry (its earlier copy attached, the heartbeat
 * lost) never collides with the indexes of the copy it replaces.
 */
function indexStatements(indexes: ParentIndex[], fill: string): string[] {
  return indexes.map((x) => (x.condef ? `ALTER TABLE ${fill} ADD ${x.condef}` : retargetIndexDef(x.def, x.method, '', fill)));
}

/** The lanes by default: the cores the database's host has when Postgres lets the worker read it, else 2. */
export async function defaultParallelism(pool: Pick<Pool, 'query'>): Promise<number> {
  try {
    const r = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM regexp_matches(pg_read_file('/proc/cpuinfo'), '^processor', 'gm')`);
    return r.rows[0].n > 0 ? r.rows[0].n : 2;
  } catch {
    return 2;
  }
}

export const BOUND_CHECK = 'lichen_copy_bound';

const fillOf = (part: Pick<Part, 'schema' | 'name'>) => `${qi(part.schema)}.${qi(withSuffix(part.name, '_lichen_fill'))}`;

/**
 * One partition: its plain table made empty first (a short transaction of its own: the lanes'
 * long transactions hold no lock on the shadow, so one lane's swap-in never waits for another's
 * insert); then ONE transaction under the exported snapshot fills it and swaps it in. The swap-in
 * waits for its locks without a timeout (only the run's own lanes take the shadow's; the
 * application never does): an abort cancels the query. Then its statistics. Returns the rows copied.
 */
async function copyPartition(c: PoolClient, p: ConversionPlan, part: Part, snapshot: string, indexes: ParentIndex[], pace?: Pace, signal?: AbortSignal): Promise<number> {
  const log = p.changeLog!;
  const target = `${qi(part.schema)}.${qi(part.name)}`;
  const fill = fillOf(part);
  const bound = part.constraint ?? 'true';
  const cols = log.insertColumns.join(', ');
  await c.query(`DROP TABLE IF EXISTS ${fill}`);
  await c.query(`CREATE TABLE ${fill} (LIKE ${p.names.shadow} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING STORAGE)${part.options ? ` WITH (${part.options})` : ''}${part.tablespace ? ` TABLESPACE ${qi(part.tablespace)}` : ''}`);
  await c.query(`ALTER TABLE ${fill} ADD CONSTRAINT ${BOUND_CHECK} CHECK (${bound})`);
  let n: number;
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  try {
    await c.query(`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, "''")}'`);
    await c.query(`SELECT set_config('row_security', 'off', true)`); // every row or an error, never a filter
    await c.query(`SELECT set_config('lock_timeout', '0', true)`);
    n = pace ? await chunked(c, log.chunkSql(fill, bound), p.key!.columns.length, pace, signal)
      : (await c.query(`INSERT INTO ${fill} (${cols}) SELECT ${cols} FROM ${p.table} WHERE ${bound}`)).rowCount ?? 0;
    for (const st of indexStatements(indexes, fill)) await c.query(st);
    await c.query(`DROP TABLE ${target}`);
    await c.query(`ALTER TABLE ${fill} RENAME TO ${qi(part.name)}`);
    for (const s of log.partitionSecurity(target)) await c.query(s);
    await c.query(`ALTER TABLE ${p.names.shadow} ATTACH PARTITION ${target} ${part.forValues}`);
    await c.query(`ALTER TABLE ${target} DROP CONSTRAINT ${BOUND_CHECK}`);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    await c.query(`DROP TABLE IF EXISTS ${fill}`).catch(() => undefined);
    throw err;
  }
  // Its statistics, while its pages are still in cache (a sample, no full read): without them the planner takes a
  // partition for a few hundred rows, and every plan that reads it (the parity's ranges, the application's queries
  // after the swap, until autovacuum gets to it) is made for that.
  await c.query(`ANALYZE ${target}`);
  return n;
}

/**
 * A lane's share of the rate bound, kept over all its partitions (a bound per partition would let
 * a lane of partitions smaller than a second's share run unbounded): rows inserted since `t0`.
 */
export interface Pace { rate: number; rows: number; t0: number }

/** Waits until the lane's rows are within its share of the rate bound. */
export async function keepPace(pace: Pace | undefined, signal?: AbortSignal): Promise<void> {
  if (!pace) return;
  // Time the lane spent not inserting (index builds, attaches, retries) is no credit beyond a second's share: the bound stays a ceiling, not an average.
  pace.t0 = Math.max(pace.t0, Date.now() - (pace.rows / pace.rate) * 1000 - 1000);
  const due = (pace.rows / pace.rate) * 1000 - (Date.now() - pace.t0);
  if (due > 0) await new Promise((res) => setTimeout(res, due));
  if (signal?.aborted) throw signal.reason;
}

/**
 * The rate-bounded insert: chunks of at most a second's share, in key order, in the lane's one
 * snapshot transaction, pausing between chunks; after a partition's last chunk the lane waits
 * outside the transaction (`keepPace` after its commit).
 */
async function chunked(c: PoolClient, sql: string, k: number, pace: Pace, signal?: AbortSignal): Promise<number> {
  const size = Math.max(1, Math.min(5000, Math.floor(pace.rate)));
  let cursor: (string | null)[] = Array<null>(k).fill(null);
  let rows = 0;
  for (;;) {
    const r = (await c.query<{ n: number; last_key: string[] | null }>(sql, [...cursor, size])).rows[0];
    rows += r.n;
    pace.rows += r.n;
    if (r.n < size || !r.last_key) return rows;
    cursor = r.last_key;
    await keepPace(pace, signal);
  }
}

/** The plain tables a copy left (a worker killed between making one and swapping it in): dropped (the rollback before the swap). */
export async function dropFills(pool: Pool, shadow: string): Promise<string[]> {
  const parts = await partitionsOf(pool, shadow).catch(() => [] as Part[]);
  const dropped: string[] = [];
  for (const part of parts) {
    const r = await pool.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [fillOf(part)]);
    if (!r.rows[0].ok) continue;
    await pool.query(`DROP TABLE IF EXISTS ${fillOf(part)}`);
    dropped.push(fillOf(part));
  }
  return dropped;
}

const RETRYABLE = new Set(['55P03', '40P01']);

export async function snapshotCopy(pool: Pool, p: ConversionPlan, o: SnapshotCopyOptions): Promise<SnapshotCopyCheckpoint & { partitions: number; resumed: boolean; complete: boolean; pausedBecause?: string; firstLeft: string | null }> {
  if (!p.changeLog) throw new Error(`the plan of ${p.table} has no change log`);
  const cp: SnapshotCopyCheckpoint = { done: [...(o.from?.done ?? [])], rows: o.from?.rows ?? 0 };
  const parts = await partitionsOf(pool, p.names.shadow);
  const indexes = await indexesOf(pool, p.names.shadow);
  const queue = parts.filter((x) => !cp.done.includes(x.name));
  const defaults = queue.filter((x) => x.forValues === 'DEFAULT');
  const ranges = queue.filter((x) => x.forValues !== 'DEFAULT');
  const t0 = Date.now();
  const doneAtStart = cp.done.length;
  // Every slice fills at least one partition: a slice never ends without progress (the caller waited for the standbys before it).
  const sliceOver = () => o.sliceMs !== undefined && Date.now() - t0 >= o.sliceMs && cp.done.length > doneAtStart;
  const firstLeft = queue[0]?.name ?? null;
  let pausedBecause: string | null = null;
  const stop = async () => {
    if (pausedBecause || sliceOver()) return true;
    if (!o.lagging || cp.done.length === doneAtStart) return false;
    pausedBecause = await o.lagging();
    return pausedBecause !== null;
  };
  const out = () => ({ ...cp, done: [...cp.done], partitions: parts.length, resumed: o.from !== undefined, complete: parts.every((x) => cp.done.includes(x.name)), firstLeft, ...(pausedBecause ? { pausedBecause } : {}) });
  if (!queue.length) return out();
  const exporter = await checkout(pool);
  const lanes: PoolClient[] = [];
  const timer = setInterval(() => o.beat({ ...cp, done: [...cp.done] }), o.beatMs ?? 1000);
  let cancelled = false;
  const cancel = () => {
    cancelled = true;
    const pids = lanes.map((l) => (l as unknown as { processID?: number }).processID).filter((x): x is number => typeof x === 'number');
    if (pids.length) void pool.query(`SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) pid`, [pids]).catch(() => undefined);
  };
  o.signal?.addEventListener('abort', cancel);
  try {
    await exporter.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    let laneRate = 0;
    const snapshot = (await exporter.query<{ id: string }>(`SELECT pg_export_snapshot() AS id`)).rows[0].id;
    const lane = async (c: PoolClient, from: Part[]) => {
      const pace = laneRate > 0 ? { rate: laneRate, rows: 0, t0: Date.now() } : undefined;
      for (let part = (await stop()) ? undefined : from.shift(); part; part = (await stop()) ? undefined : from.shift()) {
        if (cancelled || o.signal?.aborted) throw o.signal?.reason ?? new Error('copy cancelled');
        for (let attempt = 1; ; attempt++) {
          try {
            // Read after the await: lanes run concurrently (`cp.rows += await …` would add to a stale value).
            const n = await copyPartition(c, p, part, snapshot, indexes, pace, o.signal);
            cp.rows += n;
            break;
          } catch (err) {
            if (cancelled || o.signal?.aborted) throw o.signal?.reason ?? err;
            if (!RETRYABLE.has((err as { code?: string }).code ?? '') || attempt >= 20) throw err;
            await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
          }
        }
        cp.done.push(part.name);
        o.beat({ ...cp, done: [...cp.done] });
        await keepPace(pace, o.signal); // after the commit: no snapshot is held while the lane waits
      }
    };
    const n = Math.max(1, Math.min(o.parallelism, ranges.length || 1));
    laneRate = o.maxRowsPerSecond ? o.maxRowsPerSecond / n : 0;
    for (let i = 0; i < n; i++) lanes.push(await checkout(pool));
    // A lane that fails stops the others (their queries cancelled); every lane has ended before the clients go back.
    const settled = await Promise.allSettled(lanes.map((c) => lane(c, ranges).catch((err: unknown) => {
      cancel();
      throw err;
    })));
    const failed = settled.filter((x): x is PromiseRejectedResult => x.status === 'rejected').map((x) => x.reason as unknown);
    if (failed.length) throw o.signal?.aborted ? o.signal.reason : failed.find((e) => (e as { code?: string }).code !== '57014') ?? failed[0];
    // The DEFAULT partition last: its bound is what the interval partitions leave.
    if (defaults.length && !ranges.length) await lane(lanes[0], defaults);
    await exporter.query('COMMIT');
    return out();
  } finally {
    clearInterval(timer);
    o.signal?.removeEventListener('abort', cancel);
    await exporter.query('ROLLBACK').catch(() => undefined);
    exporter.release();
    for (const l of lanes) l.release();
  }
}
