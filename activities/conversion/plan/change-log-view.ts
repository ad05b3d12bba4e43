import { qi, withSuffix } from '../../../src/conversion/choice/names';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import { boundLiteral, nextStart, type PartitionType } from '../../../src/conversion/choice/intervals';
import type { ChangeLogSql } from './change-log';
import type { ConversionNames } from './names';
import type { PendingSql } from './pending';

/** One phase as the plan shows it (PlanPhase without the import cycle). */
interface Phase { phase: 'partitions' | 'copy' | 'replay'; what: string; statements: string[] }

/** What the change-log engine's copy looks like for this table (shown by `cutover plan`, costed by plan/modes.ts). */
export interface CopyShape {
  engine: 'change-log';
  log: string;
  partitions: number;
  /** Lanes the copy fills partitions in (`copy.parallelism`, or the database's cores, else 2). */
  lanes: number;
  /** Indexes and key constraints built on each partition after its fill, before it is attached. */
  indexesPerPartition: number;
  /** The replay before parity and the swap stops once a round takes at most this many keys; the swap drains the rest under its lock. */
  replayShortAt: number;
}

/** A replay round that took at most this many keys ends the replay (generic/activities.ts LOG_SHORT). */
export const REPLAY_SHORT_AT = 1000;
/** Before the swap: replayed outside its lock until this short; its transaction drains the rest (LOG_SHORT_AT_SWAP). */
export const REPLAY_SHORT_AT_SWAP = 100;
/** The fill's bound check (generic/snapshot-copy.ts BOUND_CHECK). */
const BOUND_CHECK = 'lichen_copy_bound';

/**
 * The phases of the change-log engine that differ from the row sync's: the partitions a logged
 * write needs, the copy from one exported snapshot (its statements for the first partition, as
 * each lane runs them for every partition: generic/snapshot-copy.ts), and the replay.
 */
export function changeLogPhases(o: {
  choice: ConversionChoice; names: ConversionNames; schema: string; log: ChangeLogSql; pending: PendingSql; type: PartitionType;
  starts: number[]; partitionNames: string[]; indexes: number; lanes: number;
}): { phases: Phase[]; shape: CopyShape } {
  const { choice, names: n, log, type } = o;
  const col = qi(choice.column);
  const cols = log.insertColumns.join(', ');
  const first = o.partitionNames[0];
  const shape: CopyShape = { engine: 'change-log', log: log.table, partitions: o.partitionNames.length, lanes: o.lanes, indexesPerPartition: o.indexes, replayShortAt: REPLAY_SHORT_AT };
  const example: string[] = [];
  if (first && o.starts.length) {
    const target = `${qi(o.schema)}.${qi(first)}`;
    const fill = `${qi(o.schema)}.${qi(withSuffix(first, '_lichen_fill'))}`;
    const lo = boundLiteral(type, o.starts[0]);
    const hi = boundLiteral(type, nextStart(choice.interval, o.starts[0]));
    const bound = `${col} IS NOT NULL AND ${col} >= ${lo} AND ${col} < ${hi}`;
    example.push(
      `-- one session: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot() — held open while the ${o.lanes} lane(s) run`,
      `-- each lane, per partition (here ${first}):`,
      `CREATE TABLE ${fill} (LIKE ${n.shadow} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING STORAGE)`,
      `ALTER TABLE ${fill} ADD CONSTRAINT ${BOUND_CHECK} CHECK (${bound})`,
      `BEGIN ISOLATION LEVEL REPEATABLE READ`,
      `SET TRANSACTION SNAPSHOT '<the exported snapshot>'`,
      `INSERT INTO ${fill} (${cols}) SELECT ${cols} FROM ${n.table} WHERE ${bound}`,
      `-- the shadow's ${o.indexes} index(es) and key constraint(s) built on ${fill}`,
      `DROP TABLE ${target}`,
      `ALTER TABLE ${fill} RENAME TO ${qi(first)}`,
      ...log.partitionSecurity(target),
      `ALTER TABLE ${n.shadow} ATTACH PARTITION ${target} FOR VALUES FROM (${lo}) TO (${hi})`,
      `ALTER TABLE ${target} DROP CONSTRAINT ${BOUND_CHECK}`,
      `COMMIT`,
    );
  }
  const phases: Phase[] = [
    { phase: 'partitions', what: `the sync never creates a partition (it would lock the shadow inside the application's transaction): right after the trigger's installation the run creates a partition for every ${choice.interval} of the heap's rows that has none (rows written since the plan's scan), and before each replay round set and the swap the partitions logged keys need (each in its own lock_timeout transaction)${choice.options.defaultPartition ? ' (with the DEFAULT partition every row has a place: rows outside the premade partitions are copied into it)' : ''}`, statements: [o.pending.heapOutsideSql, log.missingStartsSql] },
    { phase: 'copy', what: `one snapshot exported after the trigger's commit; the ${shape.partitions} partition(s) filled in ${o.lanes} lane(s) sharing it (in slices of about 30 s, a slice finishing the partitions it started): each a plain table with no index and the partition's bound as a CHECK, bulk-inserted under the snapshot with no conflict handling, then its ${o.indexes} index(es) and key constraint(s) built, the shadow's empty partition replaced by it (owner and grants) and ATTACHed (the CHECK spares the scan)${choice.options.defaultPartition ? '; the DEFAULT partition last' : ''}; heartbeating the partitions done, a killed worker's partition redone under a new snapshot`, statements: example },
    { phase: 'replay', what: `rounds of one REPEATABLE READ transaction each: the log entries its snapshot sees are taken, their keys' rows deleted from the shadow and re-read from the heap's current state (idempotent) — after the copy until a round takes at most ${REPLAY_SHORT_AT} keys, before a parity repair, and before the swap outside its lock; the swap drains the tail inside its transaction`, statements: log.replay },
  ];
  return { phases, shape };
}
