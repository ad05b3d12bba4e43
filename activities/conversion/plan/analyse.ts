import type { ConstraintDesc, IndexDesc, TableDescriptor } from '../descriptor/types';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import type { DataFacts } from './facts';
import { partitionTypeOf } from './facts';
import type { PartitionType } from '../../../src/conversion/choice/intervals';
import { MIN_SUPPORTED_VERSION_NUM, versionLabel } from '../../../src/shared/pg-version';
import { qi } from '../../../src/conversion/choice/names';
import { rowSecurityBlockers } from './row-security';
import { publicationBlockers } from './publications';
import { alterBlockers } from './alterable';
import { conversionNames } from './names';

/** Something Postgres cannot carry onto a partitioned table as it is, with what can be done. */
export interface Blocker {
  /** Stable code, e.g. "unique-without-partition-column". */
  code: string;
  /** The object it is about (a constraint, an index, a view, a column …). */
  object: string;
  message: string;
  /** The choices that resolve it (empty: fix it by hand first), each with its effect. */
  options: { choice: string; effect: string }[];
  /** Set when the input chose an option: the blocker is then a decision the run carries out. */
  resolution?: { choice: string; effect: string };
}

/** A unique key of the table and what happens to it. */
export interface UniqueKeyFate {
  /** Index name (a constraint's name when it backs one). */
  index: string;
  constraint: string | null;
  /** carried as is, extended with the partition column, or dropped. */
  fate: 'carried' | 'extended' | 'dropped' | 'blocked';
}

export interface Analysis {
  blockers: Blocker[];
  notes: string[];
  partitionType: PartitionType | null;
  /** The heap's key the copy walks and the sync matches on (primary key, or a unique not-null key). */
  key: { columns: string[]; source: string; index: string } | null;
  /** The shadow's primary key / conflict key: the key plus the partition column when missing. */
  conflictColumns: string[];
  uniqueKeys: UniqueKeyFate[];
}

const option = (choice: string, effect: string) => ({ choice, effect });

/** The key the copy and the sync use: the primary key, else a unique, non-partial, column-only key whose columns are all NOT NULL. */
export function chooseKey(d: TableDescriptor): { columns: string[]; source: string; index: string } | null {
  if (d.primaryKey) return { columns: d.primaryKey.columns, source: `primary key ${d.primaryKey.name}`, index: d.primaryKey.index ?? d.primaryKey.name };
  const notNull = new Set(d.columns.filter((c) => c.notNull).map((c) => c.name));
  const candidates = d.indexes.filter((i) => i.unique && i.valid && !i.predicate && i.keyColumns.every((c) => c !== null && notNull.has(c)))
    .filter((i) => !d.constraints.find((c) => c.index === i.name && c.deferrable))
    .sort((a, b) => a.keyColumns.length - b.keyColumns.length || a.name.localeCompare(b.name));
  const k = candidates[0];
  return k ? { columns: k.keyColumns as string[], source: `unique index ${k.name}`, index: k.name } : null;
}

/** A unique index's constraint, when it backs one. */
export function constraintOf(d: TableDescriptor, i: IndexDesc): ConstraintDesc | null {
  return [d.primaryKey, ...d.constraints].find((c) => c && c.index === i.name) ?? null;
}

export function analyse(d: TableDescriptor, facts: DataFacts | null, choice: ConversionChoice, partitions: number): Analysis {
  const blockers: Blocker[] = [];
  const notes: string[] = [];
  const col = choice.column;
  const block = (b: Blocker) => blockers.push(b);

  if (d.serverVersionNum < MIN_SUPPORTED_VERSION_NUM) {
    block({ code: 'server-version', object: versionLabel(d.serverVersionNum), message: `the server runs ${versionLabel(d.serverVersionNum)}; conversions need PostgreSQL ${MIN_SUPPORTED_VERSION_NUM / 10000} or later (DETACH PARTITION … CONCURRENTLY): upgrade the server first`, options: [] });
  }
  for (const n of d.notValidNotNull ?? []) {
    notes.push(`column ${n.column} has NOT NULL ${n.constraint} NOT VALID (old rows may hold NULLs): the shadow and the copy allow NULLs there, and the swap's transaction adds it to the new table NOT VALID again (ALTER TABLE ${d.qualified} ADD CONSTRAINT ${qi(n.constraint)} NOT NULL ${qi(n.column)} NOT VALID), so old rows are not re-checked`);
  }
  if (d.relkind === 'p') block({ code: 'already-partitioned', object: d.qualified, message: `${d.qualified} is already partitioned: there is nothing to convert (partitionMaintenance keeps its partitions ahead)`, options: [] });
  else if (d.relkind !== 'r') block({ code: 'not-a-table', object: d.qualified, message: `${d.qualified} is not an ordinary table (relkind ${d.relkind})`, options: [] });
  if (d.relkind !== 'r') return { blockers, notes, partitionType: null, key: null, conflictColumns: [], uniqueKeys: [] };
  if (d.isPartition) block({ code: 'is-a-partition', object: d.qualified, message: `${d.qualified} is a partition of ${d.inheritance.parents.join(', ')}`, options: [] });
  else if (d.inheritance.parents.length || d.inheritance.children.length) {
    block({ code: 'inheritance', object: d.qualified, message: `${d.qualified} takes part in table inheritance (parents: ${d.inheritance.parents.join(', ') || 'none'}; children: ${d.inheritance.children.join(', ') || 'none'}); a partitioned table cannot`, options: [] });
  }
  if (d.ofType) block({ code: 'typed-table', object: d.qualified, message: `${d.qualified} is a typed table (OF ${d.ofType}); a partitioned table cannot be`, options: [] });
  if (d.persistence === 'u') block({ code: 'unlogged-table', object: d.qualified, message: `${d.qualified} is UNLOGGED; partitioned tables cannot be: ALTER TABLE ${d.qualified} SET LOGGED first`, options: [] });
  if (d.persistence === 't') block({ code: 'temporary-table', object: d.qualified, message: `${d.qualified} is a temporary table`, options: [] });

  const column = d.columns.find((c) => c.name === col);
  let partitionType: PartitionType | null = null;
  if (!column) {
    block({ code: 'partition-column-missing', object: col, message: `${d.qualified} has no column ${JSON.stringify(col)}; columns: ${d.columns.map((c) => c.name).join(', ')}`, options: [] });
  } else {
    partitionType = partitionTypeOf(column.baseType);
    if (!partitionType) block({ code: 'partition-column-type', object: col, message: `column ${col} is ${column.type}; partitioning by interval needs timestamptz, timestamp or date`, options: [] });
    if (column.generated) block({ code: 'partition-column-generated', object: col, message: `column ${col} is a generated column; Postgres cannot partition by one`, options: [] });
    if (!column.notNull) notes.push(`column ${col} becomes NOT NULL on the new table (the key includes it): a write of NULL there will be refused`);
  }

  const key = chooseKey(d);
  if (!key) {
    block({ code: 'no-key', object: d.qualified, message: `${d.qualified} has no primary key and no unique key on NOT NULL columns: the copy and the sync need one to find each row`, options: [] });
  } else if (!d.primaryKey) {
    notes.push(`no primary key: the ${key.source} (${key.columns.join(', ')}) identifies rows; it becomes the new table's primary key${key.columns.includes(col) ? '' : ` with ${col}`}`);
  }
  const conflictColumns = key ? (key.columns.includes(col) ? key.columns : [...key.columns, col]) : [];
  if (key && !key.columns.includes(col)) {
    notes.push(`the key (${key.columns.join(', ')}) gains the partition column: the new table's primary key is (${conflictColumns.join(', ')}); uniqueness of (${key.columns.join(', ')}) alone is no longer enforced by Postgres`);
  }

  const uniqueKeys: UniqueKeyFate[] = [];
  for (const i of d.indexes.filter((x) => x.unique)) {
    const con = constraintOf(d, i);
    if (con?.type === 'x') continue;
    if (key && i.name === key.index) { uniqueKeys.push({ index: i.name, constraint: con?.name ?? null, fate: key.columns.includes(col) ? 'carried' : 'extended' }); continue; }
    if (i.keyColumns.includes(col)) { uniqueKeys.push({ index: i.name, constraint: con?.name ?? null, fate: 'carried' }); continue; }
    const name = con?.name ?? i.name;
    const what = `${con ? 'unique constraint' : 'unique index'} ${name} (${i.keyElements.join(', ')})`;
    const extend = option('extend', `becomes unique on (${[...i.keyElements, col].join(', ')}): the same values may then repeat in different ${choice.interval}s`);
    const drop = option('drop', `not created on the new table: nothing enforces (${i.keyElements.join(', ')}) unique any more`);
    const picked = choice.options.uniqueKeys[name] ?? choice.options.uniqueKeys[i.name];
    uniqueKeys.push({ index: i.name, constraint: con?.name ?? null, fate: picked === 'extend' ? 'extended' : picked === 'drop' ? 'dropped' : 'blocked' });
    block({
      code: 'unique-without-partition-column', object: name,
      message: `${what} does not contain the partition column ${col}: a partitioned table can only enforce uniqueness that includes it`,
      options: [extend, drop], resolution: picked === 'extend' ? extend : picked === 'drop' ? drop : undefined,
    });
  }
  for (const name of Object.keys(choice.options.uniqueKeys)) {
    if (!uniqueKeys.some((u) => u.index === name || u.constraint === name)) {
      block({ code: 'unknown-option', object: name, message: `options.uniqueKeys names ${name}, which is not a unique constraint or index of ${d.qualified}`, options: [] });
    }
  }
  const keyConstraint = key ? [d.primaryKey, ...d.constraints].find((c) => c && c.index === key.index) : null;
  if (keyConstraint?.deferrable) {
    block({ code: 'deferrable-key', object: keyConstraint.name, message: `the key ${keyConstraint.name} is DEFERRABLE: the sync and the copy find rows with ON CONFLICT, which cannot use a deferrable constraint; ALTER TABLE ${d.qualified} ALTER CONSTRAINT ${keyConstraint.name} NOT DEFERRABLE first`, options: [] });
  }
  for (const c of d.constraints.filter((x) => x.type === 'c' && x.noInherit)) {
    block({ code: 'no-inherit-check', object: c.name, message: `check constraint ${c.name} is NO INHERIT; a partitioned table cannot have one (its partitions would not be checked); make it inheritable or drop it`, options: [] });
  }
  for (const x of d.constraints.filter((c) => c.type === 'x')) {
    block({ code: 'exclusion-constraint', object: x.name, message: `exclusion constraint ${x.name} (${x.definition}) cannot be carried unless it compares ${col} with =; drop it or carry it by hand`, options: [] });
  }

  for (const fk of d.incomingForeignKeys) {
    const drop = option('drop', `ALTER TABLE ${fk.fromTable} DROP CONSTRAINT ${fk.name} inside the swap, after the approval of gate "drop-incoming-foreign-keys" (recorded): nothing then checks that ${fk.fromTable}(${fk.columns.join(', ')}) exists here`);
    block({
      code: 'incoming-foreign-key', object: `${fk.fromTable}.${fk.name}`,
      message: `foreign key ${fk.name} of ${fk.fromTable} (${fk.definition}) points at this table; a foreign key to a partitioned table must reference a key with ${col}`,
      options: [drop], resolution: choice.options.incomingForeignKeys === 'drop' ? drop : undefined,
    });
  }

  for (const v of d.views) {
    if (v.kind === 'materialized view' && v.dependents.length) {
      block({ code: 'view-not-recreatable', object: v.name, message: `materialized view ${v.name} must be recreated on the new table, but ${v.dependents.join(', ')} depend on it (recreating would need CASCADE); drop them first and recreate them after`, options: [] });
    }
  }
  for (const o of d.otherDependents) {
    block({ code: 'dependent-not-recreatable', object: o.name, message: `${o.kind} ${o.name} depends on the table by OID and is not carried over: after the swap it would still use the old table, and the drop would fail; remove it before converting and recreate it after`, options: [] });
  }

  if (facts && facts.nulls > 0) {
    block({ code: 'null-partition-values', object: col, message: `${facts.nulls} row(s) have ${col} NULL; the key includes ${col}, so the new table cannot hold them (a DEFAULT partition does not help: key columns are NOT NULL); UPDATE them to a value first`, options: [] });
  }
  if (facts && facts.outside > 0) {
    const dflt = option('defaultPartition', `a DEFAULT partition holds them (and any later write outside every partition); a partition for a range then cannot be created while the default holds rows of that range`);
    block({ code: 'values-outside-intervals', object: col, message: `${facts.outside} row(s) have ${col} = ±infinity or a year outside 1–9999: no ${choice.interval} partition can hold them`, options: [dflt], resolution: choice.options.defaultPartition ? dflt : undefined });
  }
  if (partitions > choice.options.maxPartitions) {
    block({ code: 'too-many-partitions', object: col, message: `the data spans ${partitions} ${choice.interval}s (${facts?.min} … ${facts?.max}), more than options.maxPartitions (${choice.options.maxPartitions})`, options: [option('coarser interval', 'choose a longer interval (partitionBy.interval)'), option('maxPartitions', 'raise options.maxPartitions (at most 5000)')] });
  }

  for (const p of d.publications) {
    if (!p.viaPartitionRoot) {
      block({ code: 'publication-partition-names', object: p.name, message: `publication ${p.name} publishes changes of a partitioned table under each partition's name (publish_via_partition_root = false): subscribers would need one table per partition; ALTER PUBLICATION ${p.name} SET (publish_via_partition_root = true) first`, options: [] });
    }
  }
  for (const b of publicationBlockers(d, conversionNames(d))) block(b);
  for (const t of d.triggers.filter((x) => x.row && x.transitionTables)) {
    block({ code: 'trigger-not-carried', object: t.name, message: `row trigger ${t.name} uses transition tables, which partitioned tables do not support on row triggers; make it a statement trigger or remove it`, options: [] });
  }
  for (const b of rowSecurityBlockers(d)) block(b);
  for (const b of alterBlockers(d, choice)) block(b);
  if (d.rowSecurity.forced) notes.push('FORCE ROW LEVEL SECURITY: the sync runs as the conversion\'s role and bypasses no policy it is subject to; policies must let it write every row');
  if (d.triggers.length) notes.push(`user triggers (${d.triggers.map((t) => t.name).join(', ')}) stay on the table the application writes: on ${d.qualified} until the swap, on the new table after it; the sync's and the copy's writes never fire them`);
  return { blockers, notes, partitionType, key, conflictColumns, uniqueKeys };
}
