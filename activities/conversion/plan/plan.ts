import type { ClientBase } from 'pg';
import { readTableDescriptor } from '../descriptor/read';
import type { TableDescriptor } from '../descriptor/types';
import { analyse, type Blocker, type UniqueKeyFate } from './analyse';
import { appChanges, readAppFacts, type AppChange, type AppFacts } from './app-changes';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import { readDataFacts, type DataFacts } from './facts';
import { defaultPartitionName, floorTo, intervalStarts, nextStart, type PartitionType, utcDay } from '../../../src/conversion/choice/intervals';
import { copyBatchSql, lastKeySql } from './move-sql';
import { paritySql, rangeParitySql } from './range-parity-sql';
import { conversionNames, type ConversionNames } from './names';
import { kindBlockers } from './not-valid';
import { MIRROR_TABLE_PATTERN } from '../../../src/memory-layer/control-plane';
import { shadowDdl, type IndexRename } from './shadow-ddl';
import { swapDdl } from './swap-ddl';
import { syncDdl } from './sync-ddl';
import { afterSwapPlan, rangeText, type AfterSwap } from './after-swap';
import { pendingSql, type PendingSql } from './pending';
import { changeLogSql, changeLogSync, type ChangeLogSql } from './change-log';
import { attachBlockers, attachBound, attachDdl, existingKeyIndex, withoutAttachObjects, type AttachDdl } from './attach-ddl';
import { modeCosts, type ModeChoice } from './modes';
import { changeLogPhases, REPLAY_SHORT_AT_SWAP, type CopyShape } from './change-log-view';

/** Blocker codes of the copy mode that do not apply to attach (its history is one partition, whatever the data's span). */
const NOT_FOR_ATTACH = new Set(['too-many-partitions', 'values-outside-intervals']);

/** One phase of the run and every statement it executes, in order. */
export interface PlanPhase {
  phase: 'shadow' | 'sync' | 'partitions' | 'copy' | 'replay' | 'parity' | 'swap' | 'refresh' | 'drop' | 'rollback before swap' | 'rollback after swap'
    | 'attach prepare' | 'attach swap' | 'attach rollback before swap' | 'attach rollback after swap' | 'attach restore key';
  what: string;
  statements: string[];
}

/**
 * What the conversion of one table will do, before it does anything: the blockers (with their
 * options, and the options chosen), every statement by phase, the partitions, and the size of
 * the job. `cutover plan conversion` prints it; the workflow's preflight records it.
 */
export interface ConversionPlan {
  table: string;
  partitionBy: { column: string; interval: ConversionChoice['interval']; type: PartitionType | null };
  /** No blocker left unresolved: the run can start. */
  ok: boolean;
  blockers: Blocker[];
  /** Blockers resolved by the options chosen, with their effect. */
  decisions: Blocker[];
  notes: string[];
  /** What changes for the application (plan section; blockers among them are in `blockers` too). */
  appChanges: AppChange[];
  key: { columns: string[]; source: string } | null;
  primaryKey: string[];
  uniqueKeys: UniqueKeyFate[];
  names: { shadow: string; old: string; partitionScheme: string };
  partitions: { count: number; first: string | null; last: string | null; default: string | null; names: string[] };
  size: { rows: number; /** `rows` is the planner's estimate (DataFacts.rowsEstimated); absent: counted. */ rowsEstimated?: true; tableBytes: number; totalBytes: number; copyNeedsBytes: number; min: string | null; max: string | null };
  phases: PlanPhase[];
  /** Index renames of the swap (shadow's temporary name → the original). */
  indexRenames: IndexRename[];
  /** The forward sync's side table for writes the shadow has no partition for (plan/pending.ts); null when blocked. */
  pending: PendingSql | null;
  /** How the table keeps working after the swap: partitions ahead, the maintenance Schedule, a write beyond them. */
  afterSwap: AfterSwap;
  /** The data facts the plan was built from (null: none read). */
  facts: DataFacts | null;
  /** Both modes with their cost, the one chosen and the one recommended (plan/modes.ts). */
  modes: ModeChoice;
  /** Mode attach's bound, history partition and statements (null in mode copy, or when blocked). */
  attach: AttachDdl | null;
  /** The change-log engine's log and replay (plan/change-log.ts); null on the row-sync engine (runs before patch generic-change-log), in mode attach, or when blocked. */
  changeLog: ChangeLogSql | null;
  /** The change-log engine's copy: partitions, lanes, indexes per partition (null otherwise). */
  copyShape: CopyShape | null;
}

const SCHEME: Record<ConversionChoice['interval'], string> = {
  day: '<table>_pYYYY_MM_DD', week: '<table>_pIYYYYwIW (ISO week)', month: '<table>_pYYYY_MM', quarter: '<table>_pYYYYqQ', year: '<table>_pYYYY',
};

/** Interval starts to create: every interval from the data's first to its last, and from now to `premake` ahead. */
export function partitionStarts(choice: ConversionChoice, facts: DataFacts | null, now: number): number[] {
  let hi = floorTo(choice.interval, now);
  for (let i = 0; i < choice.options.premake; i++) hi = nextStart(choice.interval, hi);
  const lo = facts?.minDay ? Math.min(utcDay(facts.minDay), now) : now;
  if (facts?.maxDay) hi = Math.max(hi, utcDay(facts.maxDay));
  return intervalStarts(choice.interval, lo, hi, Math.max(choice.options.maxPartitions, 1));
}

/** What a run decided at its start and every later step plans the same: mode attach's bound; the change-log engine (patch generic-change-log). */
export interface PlanFixed {
  attachBound?: number;
  changeLog?: boolean;
  /**
   * Sync "app-dual-write" (row-sync engine only): no trigger; the application mirrors every write
   * into the shadow (after the swap: the old table) through the control plane. The sync phase has
   * no statement, the swap no reverse sync.
   */
  appSync?: boolean;
  /** The change-log copy's lanes, for the plan's copy phase and cost (`cutover plan`: the input's copy.parallelism or the database's cores); absent: 2. */
  lanes?: number;
}

/**
 * Sync "app-dual-write": the control plane names the mirror table unquoted (cutover_control's
 * check, MIRROR_TABLE_PATTERN) and the application resolves it on its search_path: the table must
 * be in schema public, the shadow's and the old table's names plain lower-case identifiers.
 */
export function appSyncNamesProblem(n: Pick<ConversionNames, 'schema' | 'table' | 'shadowName' | 'oldName'>): string | null {
  if (n.schema !== 'public') return `sync "app-dual-write" mirrors into a table the control plane names unqualified: ${n.table} is in schema ${n.schema}, not public; use sync "trigger"`;
  const bad = [n.shadowName, n.oldName].filter((x) => !MIRROR_TABLE_PATTERN.test(x));
  return bad.length ? `sync "app-dual-write": the control plane's mirror name must be a plain lower-case identifier (letters, digits, _; at most 63), not ${bad.map((x) => JSON.stringify(x)).join(', ')}; use sync "trigger"` : null;
}

/** `fixed.attachBound`: the bound chosen at preflight (every later activity plans the same statements). `fixed.changeLog`: the change-log engine's sync, swap and parity. */
export function buildPlan(d0: TableDescriptor, facts: DataFacts | null, choice: ConversionChoice, now: number, app: AppFacts | null = null, database = '', fixed: PlanFixed = {}): ConversionPlan {
  const attachMode = choice.mode === 'attach';
  const d = attachMode ? withoutAttachObjects(d0) : d0;
  const starts = partitionStarts(choice, facts, now);
  const a = analyse(d, facts, choice, starts.length);
  const changes = appChanges(d, a, choice, app);
  a.blockers.push(...kindBlockers(d), ...changes.blockers);
  const names: ConversionNames = conversionNames(d);
  if (fixed.appSync && !fixed.changeLog && !attachMode) {
    const why = appSyncNamesProblem(names);
    if (why) a.blockers.push({ code: 'app-sync-names', object: names.table, options: [], message: why });
  }
  const copyOpen = a.blockers.filter((b) => !b.resolution);
  const attachOwn = d.relkind === 'r' ? attachBlockers(d, a, choice) : [];
  // -infinity and years before 1 are below the bound: the history partition [MINVALUE, bound) holds them.
  const above = facts ? facts.outsideAbove ?? facts.outside : 0;
  if (above > 0) attachOwn.push({ code: 'attach-values-outside', object: choice.column, options: [], message: `${above} row(s) have ${choice.column} = +infinity or a year after 9999: above every bound, the history partition's bound check refuses them; UPDATE them first, or use mode "copy" with a DEFAULT partition` });
  const attachOpen = [...copyOpen.filter((b) => !NOT_FOR_ATTACH.has(b.code)), ...attachOwn];
  const open = attachMode ? attachOpen : copyOpen;
  const existing = a.key ? existingKeyIndex(d, a, choice.column).index : null;
  const rows = facts?.rows ?? Math.max(0, d.estimatedRows);
  let attach: AttachDdl | null = null;
  const phases: PlanPhase[] = [];
  let renames: IndexRename[] = [];
  let partitionNames: string[] = [];
  let pending: PendingSql | null = null;
  let changeLog: ChangeLogSql | null = null;
  let copyShape: CopyShape | null = null;
  let refresh: string[] = [];
  if (attachMode && a.key && a.partitionType && !a.blockers.some((b) => ['not-a-table', 'already-partitioned', 'partition-column-missing', 'partition-column-generated'].includes(b.code))) {
    attach = attachDdl(d, a, choice, names, a.partitionType, fixed.attachBound ?? attachBound(choice, facts, now), now);
    const x = attach;
    partitionNames = [x.historyName, ...x.partitionNames];
    if (x.existingIndex) a.notes.push(`mode attach uses the existing index ${x.existingIndex.index} (${x.existingIndex.columns.join(', ')}) as the new table's key: no index is built; the new table's key is ${x.existingIndex.constraint ? `the UNIQUE constraint ${x.existingIndex.constraint}` : `the unique index ${x.existingIndex.index}`} on (${x.existingIndex.columns.join(', ')}), with no primary key of its own (one would need a second index of the same columns on every partition), and the history partition keeps the heap's ${a.key.source} (${a.key.columns.join(', ')})`);
    else if (x.existingIndexWhy) a.notes.push(`mode attach: ${x.existingIndexWhy}`);
    phases.push(
      { phase: 'attach prepare', what: `without blocking writes (SHARE UPDATE EXCLUSIVE): ${x.existingIndex ? `no index built: uses the existing index ${x.existingIndex.index} (${x.existingIndex.columns.join(', ')})${x.existingIndex.constraint ? ` of UNIQUE ${x.existingIndex.constraint}` : ''} as the new table's key (the user's: never dropped by a rollback)` : `the unique index (${[...a.key.columns, choice.column].join(', ')}) built CONCURRENTLY on ${names.table} (an invalid one left by a failed build is dropped and built again)${x.keyIndex ? '' : ' — not needed: the key holds the column'}${x.existingIndexWhy ? `; ${x.existingIndexWhy}` : ''}`}, then CHECK (${choice.column} < ${x.boundText}) added NOT VALID and VALIDATEd; from then until the swap a write with ${choice.column} NULL or at or beyond ${x.boundText} is refused (23514); the check is not added, nor the swap started, less than an hour before ${x.boundText}, and the before-swap gate waits no longer than that: then the run rolls back before the swap (the check and the index go) and is started again with a new bound; then, in a short transaction of its own, the partitioned table under the parked name ${names.shadow} with its keys, indexes, grants and policies and the partitions from ${x.boundText} on (nothing writes to it before the swap)`, statements: [...(x.keyIndex ? [x.keyIndex.create] : []), x.check.add, x.check.validate, ...x.parent] },
      { phase: 'attach swap', what: `one transaction under a short lock_timeout, retried with backoff, catalog only: ${names.table} becomes the partition ${x.history} [MINVALUE, ${x.boundText}) of the partitioned table built by the prepare, renamed into its place (no row copied, no scan; its ${x.partitionNames.length} partition(s) from ${x.boundText} on exist already); triggers, views, sequences and publications move to it`, statements: x.swap },
      { phase: 'attach rollback before swap', what: `the check, the index and the parent ${names.shadow} are the tool's own: they go (the check would refuse writes beyond the bound; the index costs disk and write time; the parent is dropped only while it still carries its temporary index name and holds no row)`, statements: [...x.rollbackBeforeSwap, x.parentDrop] },
      { phase: 'attach rollback after swap', what: `one transaction under lock_timeout: ${x.history} is detached, the rows the new partitions took since the swap are moved back into it (under ACCESS EXCLUSIVE: the longer after the swap, the more rows and the longer writes wait), refused before anything changes when one of them collides with a heap row on the original key or a unique key kept on the history, the names go back; then, in it, the partitioned table is dropped only when it holds no row the heap lacks (else kept aside as <table>_rolled_back)`, statements: x.swapBack },
      ...(x.restoreKey ? [{ phase: 'attach restore key' as const, what: `after a swap back: the heap's original key (${a.key.columns.join(', ')}) is rebuilt CONCURRENTLY and takes the place of (${[...a.key.columns, choice.column].join(', ')}) in a short transaction`, statements: [x.restoreKey.build, ...x.restoreKey.swapIn] }] : []),
    );
  } else if (!attachMode && a.key && a.partitionType && starts.length <= choice.options.maxPartitions && !a.blockers.some((b) => ['not-a-table', 'already-partitioned', 'partition-column-missing', 'partition-column-generated'].includes(b.code))) {
    const type = a.partitionType;
    const sh = shadowDdl(d, a, choice, names, starts);
    renames = sh.renames;
    partitionNames = sh.partitionNames;
    pending = pendingSql(d, a, choice, names, type);
    const sync = syncDdl(d, a, names, pending);
    // The change-log engine: the trigger logs keys; the swap drains the log's tail under its lock; both side tables go with the sync.
    const log = fixed.changeLog ? changeLogSql(d, a, choice, names, type) : null;
    changeLog = log;
    const sideTables = log ? { swapCheck: log.swapCheck, replay: log.replay, drop: `DROP TABLE IF EXISTS ${log.table}, ${pending.table}`, beforeRollback: log.forget } : pending;
    const app = !log && fixed.appSync === true;
    const sw = swapDdl(d, choice, names, sh.renames, app ? [] : sync.reverse, sideTables, app);
    refresh = sw.refresh;
    const view = log ? changeLogPhases({ choice, names, schema: d.schema, log, pending, type, starts, partitionNames: sh.partitionNames, indexes: sh.renames.length, lanes: fixed.lanes ?? 2 }) : null;
    copyShape = view?.shape ?? null;
    const ofView = (name: 'partitions' | 'copy' | 'replay') => view!.phases.find((x) => x.phase === name)!;
    phases.push(
      { phase: 'shadow', what: `the partitioned shadow ${names.shadow}: keys, indexes, constraints, security, comments, then ${sh.partitionNames.length} partitions (each owned by ${d.owner} with the table's grants)`, statements: [...sh.table, ...sh.constraints, ...sh.indexes, ...sh.security, ...sh.partitions] },
      app
        ? { phase: 'sync', what: `no trigger: every live instance of the application mirrors each write into ${names.shadow} in its own transaction (the control plane's mirror, then a barrier: every instance applied it); at the swap the mirror moves to ${names.old} in the swap's transaction (a bridge view under the shadow's name until every instance follows), and it is removed (barrier) before the shadow or the old table is dropped`, statements: [] }
        : log
        ? { phase: 'sync', what: `a row trigger on ${names.table} appends the key of every write (INSERT: NEW's; DELETE: OLD's; UPDATE: OLD's, and NEW's when the key changed) to ${log.table} in the writer's transaction, and a statement trigger refuses a TRUNCATE until the run ends (installed together under lock_timeout, with retries); the copy reads one snapshot taken after it, the log is replayed from the heap's current state until short, its tail drained in the swap's transaction`, statements: changeLogSync(log, names) }
        : { phase: 'sync', what: `a row trigger on ${names.table} mirrors every write into the shadow in the writer's transaction, and a statement trigger refuses a TRUNCATE until the run ends (installed together under lock_timeout, with retries)`, statements: sync.forward },
      ...(view
        ? [ofView('partitions'), ofView('copy'), ofView('replay')]
        : [
          { phase: 'partitions' as const, what: app ? `the shadow is made with ${rangeText(choice, type, starts)}; the app's mirror writes in the application's transaction and cannot keep a write out: a write whose ${choice.interval} has no partition in the shadow fails there${choice.options.defaultPartition ? ' (with the DEFAULT partition every write has a place)' : ' (premake ahead covers new rows)'}; the copy keeps such a row of the heap out and records its key in ${pending.table}, and before parity and before the swap the run creates the partitions the recorded keys need (each in its own lock_timeout transaction) and replays them from the heap` : `the sync never creates a partition (it would lock the shadow inside the application's transaction): before the swap, a write whose ${choice.interval} has no partition in the shadow yet (the shadow is made with ${rangeText(choice, type, starts)}) is kept out of it and its key recorded in ${pending.table} (the copy does the same with such a row); right after the sync's installation the run creates a partition for every ${choice.interval} of the heap's rows that has none (rows written since the plan's scan), and before parity and before the swap it creates the partitions the recorded keys need (each in its own lock_timeout transaction) and replays them from the heap${choice.options.defaultPartition ? ' (with the DEFAULT partition nothing is recorded: every write has a place)' : ''}`, statements: [pending.heapOutsideSql, pending.pendingStartsSql, ...pending.replay] },
          { phase: 'copy' as const, what: `keyset batches over (${a.key.columns.join(', ')}) up to the last key when the sync began, heartbeating the last key; repeated until done`, statements: [lastKeySql(a, names), copyBatchSql(d, a, names, pending)] },
        ]),
      { phase: 'parity', what: `count and md5 of every row's whole image per range of (${a.key.columns.join(', ')}) (its upper key found first), both tables in the range's own short REPEATABLE READ snapshot, heartbeating; a range that differs has its differing keys re-read from the heap and upserted (or deleted) in the shadow, then it is compared again`, statements: paritySql(log ? rangeParitySql(d, a, names, null, log.notLogged) : rangeParitySql(d, a, names, pending)) },
      { phase: 'swap', what: `${log ? `the log replayed once more outside the lock (until a round takes at most ${REPLAY_SHORT_AT_SWAP} keys), then ` : ''}one transaction under a short lock_timeout, retried with backoff: ${log ? `ACCESS EXCLUSIVE on ${names.table} and the shadow, the log's tail drained (no writer left), ` : ''}renames, the sync turned around (the reverse row mirror into ${names.old} and the TRUNCATE guard on the partitioned table), triggers, views, sequences and publications moved`, statements: sw.swap },
      ...(refresh.length ? [{ phase: 'refresh' as const, what: `after the swap commits (and after a swap back), outside its lock: ${d.views.filter((v) => v.kind !== 'view').map((v) => v.name).join(', ')} ${refresh.length > 1 ? 'are' : 'is'} recreated WITH NO DATA inside the swap and refilled here; from the swap's commit until this REFRESH ends (about as long as the view's query takes over ${facts?.rows ?? Math.max(0, d.estimatedRows)} rows) a read of it fails with 55000 "has not been populated"`, statements: refresh }] : []),
      { phase: 'drop', what: `after retention and an approval: the reverse sync and ${names.old} go (never CASCADE: any dependent is named and the drop waits)`, statements: sw.drop },
      { phase: 'rollback before swap', what: 'the sync goes; the shadow goes only when it holds no row the table lacks (checked in the same transaction), else it is kept aside as <table>_rolled_back; the table is untouched', statements: sw.rollbackBeforeSwap },
      { phase: 'rollback after swap', what: 'the mirror image of the swap in one transaction (the reverse sync kept the old table equal); in it, after its locks, the partitioned table is dropped only when it holds no row the old table lacks, else kept aside as <table>_rolled_back and named in the result', statements: sw.swapBack },
    );
  }
  const modes = modeCosts(d, rows, a.key?.columns.length ?? 1, choice.mode ?? 'copy', copyOpen.map((b) => b.code), attachOpen.map((b) => b.code), undefined,
    a.key?.columns.includes(choice.column) ? 'the key holds the column' : existing ? `uses the existing index ${existing.index}` : null,
    // New runs copy with the change-log engine (mode attach's plan costs the copy it would otherwise take the same way).
    fixed.changeLog ? { lanes: fixed.lanes ?? 2, indexesPerPartition: copyShape?.indexesPerPartition ?? d.indexes.length, partitions: copyShape?.partitions ?? starts.length } : undefined);
  return {
    table: d.qualified,
    partitionBy: { column: choice.column, interval: choice.interval, type: a.partitionType },
    ok: open.length === 0,
    blockers: open,
    decisions: a.blockers.filter((b) => b.resolution),
    notes: a.notes,
    appChanges: changes.changes,
    key: a.key ? { columns: a.key.columns, source: a.key.source } : null,
    primaryKey: a.conflictColumns,
    uniqueKeys: a.uniqueKeys,
    names: { shadow: names.shadow, old: names.old, partitionScheme: SCHEME[choice.interval] },
    partitions: {
      count: partitionNames.length || starts.length,
      first: partitionNames[0] ?? null,
      last: (choice.options.defaultPartition ? partitionNames[partitionNames.length - 2] : partitionNames[partitionNames.length - 1]) ?? null,
      default: choice.options.defaultPartition ? defaultPartitionName(d.name) : null,
      names: partitionNames,
    },
    size: { rows: facts?.rows ?? Math.max(0, d.estimatedRows), ...(facts?.rowsEstimated ? { rowsEstimated: true as const } : {}), tableBytes: d.tableBytes, totalBytes: d.totalBytes, copyNeedsBytes: d.totalBytes, min: facts?.min ?? null, max: facts?.max ?? null },
    phases,
    indexRenames: renames,
    pending,
    afterSwap: afterSwapPlan(d, choice, a.partitionType, starts, database),
    facts,
    modes,
    attach,
    changeLog,
    copyShape,
  };
}

/**
 * Reads the table and its data, and plans. Read-only. `carried`: the data facts a run's preflight
 * read (one full scan, or range reads of the column's index on a large table: plan/facts.ts), carried in the activity inputs — given, the table is not read again
 * (undefined: scan; null: preflight had none to read). `fixed`: what a run decided at preflight
 * and every later step must plan the same (mode attach's bound).
 */
export async function planConversion(c: ClientBase, choice: ConversionChoice, now = Date.now(), carried?: DataFacts | null, fixed: PlanFixed = {}): Promise<ConversionPlan> {
  const d = await readTableDescriptor(c, choice.table);
  const column = d.columns.find((x) => x.name === choice.column);
  const probe = analyse(d, null, choice, 0);
  // Rows the role may not see are not read (it would be an error, or a filter): that blocker speaks first.
  const hidden = probe.blockers.some((b) => b.code === 'row-security-hides-rows');
  const scannable = column && probe.partitionType && d.relkind === 'r' && !hidden;
  const facts = !scannable ? null : carried !== undefined ? carried : await readDataFacts(c, d, choice.column, probe.partitionType!);
  const app = d.relkind === 'r' ? await readAppFacts(c, d, choice.column) : null;
  const database = (await c.query<{ db: string }>(`SELECT current_database() AS db`)).rows[0].db;
  return buildPlan(d, facts, choice, now, app, database, fixed);
}
