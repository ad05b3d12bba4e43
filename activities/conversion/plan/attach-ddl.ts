import { qi, withSuffix } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';
import type { Analysis, Blocker } from './analyse';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import type { DataFacts } from './facts';
import { boundLiteral, floorTo, intervalStarts, nextStart, type PartitionType } from '../../../src/conversion/choice/intervals';
import type { ConversionNames } from './names';
import { addNotValidSql } from './not-valid';
import { partitionStatements, shadowDdl } from './shadow-ddl';
import { moveTriggers, publicationStatements, sequenceStatements, viewStatements } from './swap-ddl';
import { rowSql } from './sync-ddl';

/**
 * Mode "attach" (instant conversion): the heap itself becomes the partition `[MINVALUE, bound)` of
 * a new partitioned table that takes its name; no row is copied. Before the swap, without
 * blocking writes: the unique index of (key, partition column) is built CONCURRENTLY on the heap
 * (the partitioned table's primary key needs it on every partition) and a CHECK of the bound is
 * added NOT VALID and VALIDATEd (SHARE UPDATE EXCLUSIVE). Then ONE lock-bounded transaction
 * creates the parent, attaches the heap (the validated check spares the scan), creates the
 * partitions from the bound on, moves triggers, views, sequences and publications, and renames.
 */
export interface AttachDdl {
  /** The heap's name as a partition (`<table>_history`). */
  historyName: string;
  history: string;
  /** The bound: every row of the heap is below it; new partitions start there. */
  bound: number;
  boundText: string;
  /** The index built CONCURRENTLY on the heap (null: the key already holds the partition column, or an existing index is used: `existingIndex`). */
  keyIndex: { name: string; create: string; drop: string } | null;
  /** The user's valid unique index or UNIQUE constraint on exactly (key, partition column) that becomes the parent's key (null: none, or not usable: `existingIndexWhy`). */
  existingIndex: ExistingKeyIndex | null;
  /** Why an index of those columns was not used (null: none was found, or it is used). */
  existingIndexWhy: string | null;
  /** `violators`: the rows VALIDATE refuses (NULL, or at or beyond the bound), for the message when it fails. */
  check: { name: string; add: string; validate: string; drop: string; violators: string };
  /** New partitions from the bound to premake ahead. */
  partitionNames: string[];
  /**
   * Before the swap (attach prepare, its own short transaction): the partitioned parent under the
   * parked name (`<table>_partitioned`), its keys, indexes, grants and policies, and the partitions
   * from the bound on; `parentMark` is the temporary name of one of its indexes, which only the
   * tool's parent carries before the swap (the rollback before the swap drops it only then).
   */
  parent: string[];
  parentMark: string;
  parentDrop: string;
  /** The swap's lock-bounded transaction: the heap aside, the parent renamed into its place, the attach, the moves. */
  swap: string[];
  /** The same swap for a run whose prepare built no parent (started before the prepare did): the parent built inside the lock. */
  swapWhole: string[];
  /** The rollback after the swap, in one transaction (the kept-or-dropped parent is decided in it, after these). */
  swapBack: string[];
  /** The rows the new partitions took since the swap, moved back into the heap (inside swapBack, after the detach). */
  moveBack: string;
  /** After a swap back, outside its lock: the heap's original key rebuilt CONCURRENTLY, then swapped in (null: unchanged key). */
  restoreKey: { build: string; swapIn: string[] } | null;
  /** The rollback before the swap: the tool's own index and check go (never the user's). */
  rollbackBeforeSwap: string[];
}

/**
 * A unique index of the user's on exactly the key's columns plus the partition column. ATTACH
 * PARTITION adopts, for each index of the parent, an index of the heap built the same way
 * (same columns in the same order, same opclasses and collations, same predicate, valid, and backing a
 * constraint of the same kind when the parent's does: PostgreSQL's AttachPartitionEnsureIndexes;
 * anything else it BUILDS, inside the swap's lock). So the parent's key takes this index's own
 * definition (as carried by shadow-ddl.ts) instead of a primary key on (key, column) that would
 * need a second index: the parent's key is this UNIQUE constraint (or unique index), the heap
 * keeps its primary key as the history partition's own (a partition may have more indexes than
 * its parent), and nothing is built.
 */
export interface ExistingKeyIndex {
  index: string;
  /** The UNIQUE constraint it backs, or null for a plain unique index. */
  constraint: string | null;
  /** Its columns in its order (the parent's key declares them so). */
  columns: string[];
}

/** The user's index that attach mode uses as the parent's key, or why one of the same columns cannot be (see ExistingKeyIndex). */
export function existingKeyIndex(d: TableDescriptor, a: Analysis, col: string): { index: ExistingKeyIndex | null; why: string | null } {
  const key = a.key;
  if (!key || key.columns.includes(col)) return { index: null, why: null };
  const want = new Set([...key.columns, col]);
  const sameColumns = d.indexes.filter((i) => i.unique && i.name !== key.index && i.keyColumns.length === want.size && i.keyColumns.every((c) => c !== null && want.has(c)));
  const why: string[] = [];
  const usable = sameColumns.filter((i) => {
    const con = [d.primaryKey, ...d.constraints].find((c) => c && c.index === i.name) ?? null;
    const fate = a.uniqueKeys.find((u) => u.index === i.name)?.fate;
    const no = !i.valid ? 'it is INVALID (a failed CREATE INDEX CONCURRENTLY)'
      : i.predicate ? 'it is partial'
        : con && con.type !== 'u' ? `it backs a constraint of type ${con.type}`
          : con?.deferrable ? 'its constraint is DEFERRABLE'
            : fate !== 'carried' ? `its fate is ${fate ?? 'unknown'}`
              : d.publications.length && d.replicaIdentity === 'd' ? 'the table is published with the primary key as replica identity: the new table needs a primary key of its own'
                : null;
    if (no) why.push(`${i.name}: ${no}`);
    return no === null;
  });
  // The (key, column) order first (lookups by the key keep their index), then by name.
  const exact = [...key.columns, col].join(',');
  usable.sort((x, y) => Number(y.keyColumns.join(',') === exact) - Number(x.keyColumns.join(',') === exact) || x.name.localeCompare(y.name));
  const i = usable[0];
  if (!i) return { index: null, why: why.length ? `an index on (${[...want].join(', ')}) exists but is not used (${why.join('; ')}): one is built` : null };
  return { index: { index: i.name, constraint: i.constraint && d.constraints.some((c) => c.name === i.constraint && c.type === 'u') ? i.constraint : null, columns: i.keyColumns as string[] }, why: null };
}

/** The check's name on the heap (the tool's own). */
export const attachCheckName = (table: string) => withSuffix(`lichen_attach_bound_${table}`, '');

/**
 * The bound: the start of the interval after max(now + 1 day, the data's max). Every existing
 * row is below it; a day of margin keeps the check from refusing a write stamped `now()` when the
 * run crosses an interval's end before its swap (a write at or beyond the bound is refused with
 * 23514 from the check's addition until the swap; the swap refuses to run within an hour of it).
 */
export function attachBound(choice: ConversionChoice, facts: DataFacts | null, now: number): number {
  const dataMax = facts?.max ? Date.parse(facts.max.includes('T') || / /.test(facts.max) ? facts.max.replace(' ', 'T').replace(/\+00$/, 'Z') : `${facts.max}T00:00:00Z`) : NaN;
  const from = Math.max(now + 24 * 3600 * 1000, Number.isFinite(dataMax) ? dataMax : 0, facts?.maxDay ? Date.parse(`${facts.maxDay}T00:00:00Z`) : 0);
  return nextStart(choice.interval, floorTo(choice.interval, from));
}

/** What attach mode cannot do that the copy mode could (the copy mode's blockers apply to it too, but for unique keys: see below). */
export function attachBlockers(d: TableDescriptor, a: Analysis, choice: ConversionChoice): Blocker[] {
  const out: Blocker[] = [];
  for (const c of d.columns.filter((x) => x.identity)) {
    out.push({ code: 'attach-identity-column', object: c.name, options: [],
      message: `column ${c.name} is an identity column: a table being attached as a partition may not have one (PostgreSQL 17+), and before 17 the parent's own sequence would take over; use mode "copy", or replace the identity by a sequence default first` });
  }
  for (const i of d.indexes.filter((x) => !x.valid)) {
    out.push({ code: 'attach-invalid-index', object: i.name, options: [],
      message: `index ${i.name} is INVALID (a failed CREATE INDEX CONCURRENTLY): the new table would carry it and ATTACH PARTITION would build it again on the history partition inside the swap's lock; DROP INDEX CONCURRENTLY or REINDEX INDEX CONCURRENTLY it first, or use mode "copy"` });
  }
  for (const u of a.uniqueKeys.filter((x) => x.fate === 'extended' && x.index !== a.key?.index)) {
    out.push({ code: 'attach-unique-key', object: u.constraint ?? u.index, options: [],
      message: `unique key ${u.constraint ?? u.index} cannot gain ${choice.column} in mode "attach" (its history partition keeps the index as it is): choose "drop" for it (it is then kept on the history partition only, enforced among old rows), or use mode "copy"` });
  }
  if (a.key && !a.key.columns.includes(choice.column) && d.replicaIdentity === 'i' && d.indexes.find((i) => i.replicaIdentity)?.name === a.key.index) {
    out.push({ code: 'attach-replica-identity', object: a.key.index, options: [],
      message: `the key index ${a.key.index} is the table's replica identity; mode "attach" replaces it by (${[...a.key.columns, choice.column].join(', ')}): set REPLICA IDENTITY DEFAULT first, or use mode "copy"` });
  }
  return out;
}

/** Every statement of mode attach for `bound` (chosen at preflight and carried: every activity plans the same). */
export function attachDdl(d: TableDescriptor, a: Analysis, choice: ConversionChoice, n: ConversionNames, type: PartitionType, bound: number, now: number): AttachDdl {
  const col = choice.column;
  const T = n.table;
  const historyName = withSuffix(n.name, '_history');
  const history = `${qi(n.schema)}.${qi(historyName)}`;
  const hist = (x: string) => withSuffix(x, '_history');
  // The parent, built as the copy mode builds its shadow, but under the table's own name (free once the heap is renamed) and with no partition yet.
  const parentNames: ConversionNames = { ...n, shadow: T, shadowName: n.name };
  const sh = shadowDdl(d, a, choice, parentNames, []);
  let hi = floorTo(choice.interval, now);
  for (let i = 0; i < choice.options.premake; i++) hi = nextStart(choice.interval, hi);
  const starts = intervalStarts(choice.interval, bound, Math.max(bound, hi), Math.max(choice.options.maxPartitions, 1));
  const parts = partitionStatements(d, parentNames, choice, type, starts);
  const key = a.key!;
  const keyRename = sh.renames[0]; // the primary key (shadow-ddl.ts puts it first)
  const pk = d.primaryKey;
  const keyHasCol = key.columns.includes(col);
  const found = existingKeyIndex(d, a, col);
  const existing = found.index;
  // With the user's index as the parent's key: no primary key on the parent (it would need a second index on every partition).
  const parentSql = (xs: string[]) => (existing ? xs.filter((x) => !x.includes(qi(keyRename.temp))) : xs);
  const renames = existing ? sh.renames.slice(1) : sh.renames;
  const keyIndexName = hist(keyRename.final);
  const keyIndex = keyHasCol || existing ? null : {
    name: keyIndexName,
    create: `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${qi(keyIndexName)} ON ${T} (${[...key.columns, col].map(qi).join(', ')})`,
    drop: `DROP INDEX CONCURRENTLY IF EXISTS ${qi(n.schema)}.${qi(keyIndexName)}`,
  };
  const checkName = attachCheckName(n.name);
  const boundLit = `${boundLiteral(type, bound)}::${type}`;
  const check = {
    name: checkName,
    add: `ALTER TABLE ${T} ADD CONSTRAINT ${qi(checkName)} CHECK (${qi(col)} IS NOT NULL AND ${qi(col)} < ${boundLit}) NOT VALID`,
    validate: `ALTER TABLE ${T} VALIDATE CONSTRAINT ${qi(checkName)}`,
    drop: `ALTER TABLE ${T} DROP CONSTRAINT IF EXISTS ${qi(checkName)}`,
    violators: `SELECT * FROM ${T} WHERE ${qi(col)} IS NULL OR ${qi(col)} >= ${boundLit}`,
  };
  const colNullable = !d.columns.find((c) => c.name === col)!.notNull;
  // The heap's key index: replaced by the concurrently built one (made its primary key), or, holding the column already, only renamed.
  const keyCon = pk ?? [...d.constraints].find((c) => c.index === key.index) ?? null;
  // Kept (the heap's key stays its own, as the history partition's), or held the column already: only renamed.
  const replaceKey = keyHasCol || existing
    ? [`ALTER INDEX ${qi(n.schema)}.${qi(key.index)} RENAME TO ${qi(keyIndexName)}`]
    : [
      keyCon ? `ALTER TABLE ${T} DROP CONSTRAINT ${qi(keyCon.name)}` : `DROP INDEX ${qi(n.schema)}.${qi(key.index)}`,
      `ALTER TABLE ${T} ADD CONSTRAINT ${qi(keyIndexName)} PRIMARY KEY USING INDEX ${qi(keyIndexName)}`,
    ];
  // Every other index the parent carries: the heap's keeps matching it, under the history name (the parent takes the original one).
  const others = sh.renames.slice(1);
  const droppedFks = choice.options.incomingForeignKeys === 'drop' ? d.incomingForeignKeys : [];
  const ins = rowSql(d);
  const heapAside = [
    `LOCK TABLE ${T} IN ACCESS EXCLUSIVE MODE`,
    ...droppedFks.map((fk) => `ALTER TABLE ${fk.fromTable} DROP CONSTRAINT ${qi(fk.name)}`),
    // Proven by the validated check: no scan (PostgreSQL 12+).
    ...(colNullable ? [`ALTER TABLE ${T} ALTER COLUMN ${qi(col)} SET NOT NULL`] : []),
    ...replaceKey,
    ...others.map((r) => `ALTER INDEX ${qi(n.schema)}.${qi(r.final)} RENAME TO ${qi(hist(r.final))}`),
    `ALTER TABLE ${T} RENAME TO ${qi(historyName)}`,
  ];
  const attachAndMove = [
    `ALTER TABLE ${T} ATTACH PARTITION ${history} FOR VALUES FROM (MINVALUE) TO (${boundLit})`,
    // The partition's own bound replaces the check.
    `ALTER TABLE ${history} DROP CONSTRAINT ${qi(checkName)}`,
  ];
  const moveRest = [
    ...renames.map((r) => `ALTER INDEX ${qi(n.schema)}.${qi(r.temp)} RENAME TO ${qi(r.final)}`),
    ...addNotValidSql(d, T),
    ...moveTriggers(d, history, T),
    ...viewStatements(d),
    ...sequenceStatements(d, T, history),
    ...publicationStatements(d, history, T),
  ];
  // Runs whose prepare did not build the parent (started before it did): the whole parent inside the lock.
  const swapWhole = [...heapAside, ...sh.table, ...parentSql(sh.constraints), ...sh.indexes, ...parentSql(sh.security), ...attachAndMove, ...parts.sql, ...moveRest];
  // The parent and its partitions from the bound on, built before the swap under the parked name (nothing writes to it yet; only its own catalog locks).
  const ahead = shadowDdl(d, a, choice, n, []);
  const parent = [...ahead.table, ...parentSql(ahead.constraints), ...ahead.indexes, ...parentSql(ahead.security), ...partitionStatements(d, n, choice, type, starts).sql];
  const swap = [...heapAside, `ALTER TABLE ${n.shadow} RENAME TO ${qi(n.name)}`, ...attachAndMove, ...moveRest];
  const parked = n.shadow; // the parent's name while it is compared (keep-or-drop.ts) and dropped or kept aside
  // The original key (without the column) is rebuilt CONCURRENTLY after the swap back, then takes the place of (key, column); the dropped foreign keys come back with it.
  const origIndex = d.indexes.find((i) => i.name === key.index);
  const keyBack = !keyHasCol && !existing && !!origIndex;
  const fksBack = droppedFks.map((fk) => `ALTER TABLE ${fk.fromTable} ADD CONSTRAINT ${qi(fk.name)} ${fk.definition} NOT VALID`);
  const moveBack = `INSERT INTO ${history} (${ins.insertColumns.join(', ')})${ins.overriding} SELECT ${ins.insertColumns.join(', ')} FROM ${T}`;
  const swapBack = [
    `LOCK TABLE ${T} IN ACCESS EXCLUSIVE MODE`,
    `ALTER TABLE ${T} DETACH PARTITION ${history}`,
    // Lossless: every row the new partitions took since the swap, under the lock; the parent is compared afterwards and dropped only when it holds nothing more.
    moveBack,
    // The column was nullable and in no key of the heap's own: NOT NULL goes with the swap (the restore of the key does it otherwise).
    ...(existing && colNullable ? [`ALTER TABLE ${history} ALTER COLUMN ${qi(col)} DROP NOT NULL`] : []),
    ...renames.map((r) => `ALTER INDEX ${qi(n.schema)}.${qi(r.final)} RENAME TO ${qi(r.temp)}`),
    `ALTER TABLE ${T} RENAME TO ${qi(n.shadowName)}`,
    `ALTER TABLE ${history} RENAME TO ${qi(n.name)}`,
    ...others.map((r) => `ALTER INDEX ${qi(n.schema)}.${qi(hist(r.final))} RENAME TO ${qi(r.final)}`),
    ...(keyHasCol || existing ? [`ALTER INDEX ${qi(n.schema)}.${qi(keyIndexName)} RENAME TO ${qi(key.index)}`] : []),
    ...moveTriggers(d, parked, T),
    ...viewStatements(d),
    ...sequenceStatements(d, T, parked),
    ...publicationStatements(d, parked, T),
    // The heap's key is the one they referenced (it held the column already): back in the same transaction.
    ...(keyBack ? [] : fksBack),
  ];
  const restoreName = withSuffix(key.index, '_restore');
  const restoreKey = !keyBack ? null : {
    build: `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${qi(restoreName)} ON ${T} (${key.columns.map(qi).join(', ')})`,
    swapIn: [
      `LOCK TABLE ${T} IN ACCESS EXCLUSIVE MODE`,
      `ALTER TABLE ${T} DROP CONSTRAINT ${qi(keyIndexName)}`,
      // The column was nullable: NOT NULL goes with the (key, column) key (the column was in no key before).
      ...(colNullable ? [`ALTER TABLE ${T} ALTER COLUMN ${qi(col)} DROP NOT NULL`] : []),
      keyCon ? `ALTER TABLE ${T} ADD CONSTRAINT ${qi(keyCon.name)} ${keyCon.type === 'p' || keyCon === pk ? 'PRIMARY KEY' : 'UNIQUE'} USING INDEX ${qi(restoreName)}` : `ALTER INDEX ${qi(n.schema)}.${qi(restoreName)} RENAME TO ${qi(key.index)}`,
      ...fksBack,
    ],
  };
  const rollbackBeforeSwap = [check.drop, ...(keyIndex ? [keyIndex.drop] : [])];
  return {
    historyName, history, bound, boundText: new Date(bound).toISOString(), keyIndex, existingIndex: existing, existingIndexWhy: found.why, check, partitionNames: parts.names,
    parent, parentMark: renames[0].temp, parentDrop: `DROP TABLE ${n.shadow}`,
    swap, swapWhole, swapBack, moveBack, restoreKey, rollbackBeforeSwap,
  };
}

/**
 * The table as attach mode plans it: without the tool's own objects from an earlier step of the
 * same run (the bound's check and the concurrently built `<key>_history` index), which the parent
 * must not copy.
 */
export function withoutAttachObjects(d: TableDescriptor): TableDescriptor {
  const own = new Set([...d.indexes.map((i) => withSuffix(i.name, '_history')), ...[d.primaryKey, ...d.constraints].flatMap((c) => (c ? [withSuffix(c.name, '_history')] : []))]);
  const check = attachCheckName(d.name);
  return { ...d, indexes: d.indexes.filter((i) => !(i.unique && i.constraint === null && own.has(i.name))), constraints: d.constraints.filter((c) => c.name !== check) };
}
