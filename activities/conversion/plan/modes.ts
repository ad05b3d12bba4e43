import type { TableDescriptor } from '../descriptor/types';
import type { ConversionMode } from '../../../src/conversion/choice/choice';

/**
 * What each mode costs, from the table's size and conservative rates (a busy server's, well below
 * the bench's): the copy writes every row again (and its WAL), attach builds one index and
 * validates one check while writes go on, then holds ACCESS EXCLUSIVE for one catalog-only
 * transaction.
 */
export interface ModeCost {
  mode: ConversionMode;
  ok: boolean;
  /** Open blockers of this mode (codes). */
  blockers: string[];
  rowsCopied: number;
  /** Disk the mode needs beyond the table (bytes, estimated). */
  extraDiskBytes: number;
  /** Expected wall time of the run's work before the swap (seconds, conservative). */
  expectedSeconds: number;
  /** How long writes wait at the swap. */
  lockTime: string;
  /** What the result looks like. */
  result: string;
  /** Attach only: the index built before the swap, or why none is. */
  indexBuild?: string;
  /** How the rows move (the copy mode: the change-log engine's snapshot copy, or the row sync of runs started before it). */
  how?: string;
}

export interface ModeChoice {
  chosen: ConversionMode;
  copy: ModeCost;
  attach: ModeCost;
  recommended: ConversionMode;
  why: string;
}

/** Conservative rates (rows/s): the copy with its index maintenance, one index build, one validating scan. */
export const RATES = { copy: 30_000, fill: 60_000, parity: 150_000, indexBuild: 200_000, validate: 1_000_000 } as const;
/** Above this, attach is recommended when it can run (copying costs hours of I/O and twice the disk). */
export const ATTACH_RECOMMENDED_ROWS = 1_000_000;

/**
 * `noBuild`: why attach builds no index (the key holds the column, or an existing index of (key, column) is used), else null.
 * `engine`: the change-log engine's copy (new runs): each lane fills plain tables with no index
 * (RATES.fill rows/s) and then builds each partition's indexes (RATES.indexBuild rows/s per
 * index), lanes in parallel; absent: the row sync's keyset copy into the indexed shadow (runs
 * started before the change-log engine).
 */
export function modeCosts(d: TableDescriptor, rows: number, keyColumns: number, chosen: ConversionMode, copyBlockers: string[], attachBlockers: string[], lockTimeoutMs = 200, noBuild: string | null = null, engine?: { lanes: number; indexesPerPartition: number; partitions: number }): ModeChoice {
  const lanes = Math.max(1, Math.min(engine?.lanes ?? 1, engine?.partitions || 1));
  const copy: ModeCost = engine
    ? {
      mode: 'copy', ok: copyBlockers.length === 0, blockers: copyBlockers, rowsCopied: rows, extraDiskBytes: d.totalBytes,
      expectedSeconds: Math.ceil((rows / RATES.fill + (rows * engine.indexesPerPartition) / RATES.indexBuild) / lanes + rows / RATES.parity),
      lockTime: `one transaction under lock_timeout ${lockTimeoutMs} ms (renames, the change log's tail drained: the keys written since the last replay): milliseconds`,
      result: 'every interval of the data in its own partition',
      how: `change-log engine: one snapshot, ${engine.partitions} partition(s) in ${lanes} lane(s), each filled with no index then its ${engine.indexesPerPartition} index(es) built, then the log replayed`,
    }
    : {
      mode: 'copy', ok: copyBlockers.length === 0, blockers: copyBlockers, rowsCopied: rows, extraDiskBytes: d.totalBytes,
      expectedSeconds: Math.ceil(rows / RATES.copy + rows / RATES.parity),
      lockTime: `one transaction under lock_timeout ${lockTimeoutMs} ms (renames, the pending keys' replay): milliseconds`,
      result: 'every interval of the data in its own partition',
      how: 'row sync: keyset batches into the indexed shadow (runs started before the change-log engine)',
    };
  const attach: ModeCost = {
    mode: 'attach', ok: attachBlockers.length === 0, blockers: attachBlockers, rowsCopied: 0,
    // The (key, partition column) btree: about 16 bytes of tuple header and pointers plus 8 per column per row (none when no index is built).
    extraDiskBytes: noBuild ? 0 : rows * (16 + 8 * (keyColumns + 1)),
    expectedSeconds: Math.ceil((noBuild ? 0 : rows / RATES.indexBuild) + rows / RATES.validate),
    ...(noBuild ? { indexBuild: `none: ${noBuild}` } : { indexBuild: `a unique index on (key, partition column) CONCURRENTLY` }),
    lockTime: `one catalog-only transaction under lock_timeout ${lockTimeoutMs} ms (no scan: the validated check proves the bound): milliseconds`,
    result: 'the whole history as ONE partition [MINVALUE, bound), interval partitions from the bound on (splitting the history later is not built yet: retention drops it whole)',
  };
  let recommended: ConversionMode;
  let why: string;
  if (!attach.ok && copy.ok) [recommended, why] = ['copy', `attach is blocked (${attachBlockers.join(', ')})`];
  else if (!copy.ok && attach.ok) [recommended, why] = ['attach', `copy is blocked (${copyBlockers.join(', ')})`];
  else if (rows >= ATTACH_RECOMMENDED_ROWS) [recommended, why] = ['attach', `${rows} rows: the copy would write them all again (about ${copy.expectedSeconds} s, as much disk and WAL again); attach copies none, if keeping the history as one partition is acceptable`];
  else [recommended, why] = ['copy', `${rows} rows copy quickly (about ${copy.expectedSeconds} s) and give every interval its own partition`];
  return { chosen, copy, attach, recommended, why };
}
