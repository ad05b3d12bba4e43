import { qi } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import { addNotValidSql } from './not-valid';
import { grantSql } from './shadow-ddl';
import { oldIndexName, type ConversionNames } from './names';
import type { IndexRename } from './shadow-ddl';
import type { PendingSql } from './pending';
import { truncateGuardSql } from './truncate-guard';

/**
 * The swap (one transaction, under a short lock_timeout), its mirror image for a rollback after
 * it, the rollback before it, and the drop after retention. The definitions Postgres rendered
 * name the table as `schema.name`: run after the renames, they bind to the new table.
 */
export interface SwapDdl {
  swap: string[];
  swapBack: string[];
  rollbackBeforeSwap: string[];
  drop: string[];
  /** After the swap (and after a swap back) commits, outside its lock: the materialized views are filled again. */
  refresh: string[];
}

/**
 * Views are replaced in the swap; a materialized view is recreated WITH NO DATA there (filling it
 * inside the swap's transaction would hold ACCESS EXCLUSIVE on the table for as long as its query
 * takes) and refilled by `refreshStatements` once the swap has committed: between the two it is
 * unpopulated (a read of it fails with 55000 "has not been populated").
 */
export function refreshStatements(d: TableDescriptor): string[] {
  return d.views.filter((v) => v.kind !== 'view').map((v) => `REFRESH MATERIALIZED VIEW ${v.name}`);
}

export function viewStatements(d: TableDescriptor): string[] {
  const out: string[] = [];
  for (const v of d.views) {
    if (v.kind === 'view') {
      out.push(`CREATE OR REPLACE VIEW ${v.name}${v.options.length ? ` WITH (${v.options.join(', ')})` : ''} AS ${v.definition}`);
      continue;
    }
    out.push(`DROP MATERIALIZED VIEW ${v.name}`);
    out.push(`CREATE MATERIALIZED VIEW ${v.name}${v.options.length ? ` WITH (${v.options.join(', ')})` : ''} AS ${v.definition} WITH NO DATA`);
    out.push(...v.indexes);
    out.push(`ALTER MATERIALIZED VIEW ${v.name} OWNER TO ${qi(v.owner)}`);
    out.push(...grantSql(v.grants, v.name));
    if (v.comment !== null) out.push(`COMMENT ON MATERIALIZED VIEW ${v.name} IS '${v.comment.replace(/'/g, "''")}'`);
  }
  return out;
}

/** The user's triggers leave `from` and are created on the table now named `names.table`. */
export function moveTriggers(d: TableDescriptor, from: string, table: string): string[] {
  const out: string[] = [];
  for (const t of d.triggers) {
    out.push(`DROP TRIGGER ${qi(t.name)} ON ${from}`);
    out.push(t.definition);
    const state = { D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' }[t.enabled as 'D' | 'R' | 'A'];
    if (state) out.push(`ALTER TABLE ${table} ${state} TRIGGER ${qi(t.name)}`);
    if (t.comment !== null) out.push(`COMMENT ON TRIGGER ${qi(t.name)} ON ${table} IS '${t.comment.replace(/'/g, "''")}'`);
  }
  return out;
}

const serialSeq = (table: string, column: string) => `pg_get_serial_sequence('${table.replace(/'/g, "''")}', '${column.replace(/'/g, "''")}')::regclass`;

/**
 * Sequences follow the table the application writes: a serial's sequence (shared by both
 * tables' defaults) is OWNED BY the current table, so dropping the other one never drops it; an
 * identity column has a sequence per table, and the one now in use continues where the other
 * stopped (run after the renames: `table` is the current table, `other` the one left).
 */
export function sequenceStatements(d: TableDescriptor, table: string, other: string): string[] {
  return d.sequences.map((s) => s.ownership === 'a'
    ? `ALTER SEQUENCE ${s.name} OWNED BY ${table}.${qi(s.column)}`
    : `SELECT setval(${serialSeq(table, s.column)}, q.last_value, true) FROM pg_catalog.pg_sequences q
        WHERE format('%I.%I', q.schemaname, q.sequencename)::regclass = ${serialSeq(other, s.column)} AND q.last_value IS NOT NULL`);
}

export function publicationStatements(d: TableDescriptor, drop: string, add: string): string[] {
  return d.publications.filter((p) => !p.implicit).flatMap((p) => [
    `ALTER PUBLICATION ${qi(p.name)} DROP TABLE ${drop}`,
    `ALTER PUBLICATION ${qi(p.name)} ADD TABLE ${add}${p.columns ? ` (${p.columns.map(qi).join(', ')})` : ''}${p.rowFilter ? ` WHERE (${p.rowFilter})` : ''}`,
  ]);
}

const renameIndexes = (schema: string, pairs: [string, string][]) => pairs.map(([a, b]) => `ALTER INDEX ${qi(schema)}.${qi(a)} RENAME TO ${qi(b)}`);

/** `pending`: the forward sync's side table (plan/pending.ts): its keys are replayed under the swap's lock, then it goes. */
/** `pending.beforeRollback`: run in the rollback before the swap right after its locks (the change-log engine drops the shadow's images of logged keys: the heap holds newer ones). */
/** `appSync`: sync "app-dual-write" — no forward trigger to drop at the swap, no reverse one to drop at the swap back (the app's mirror moves in the activity, app-sync.ts). */
export function swapDdl(d: TableDescriptor, choice: ConversionChoice, n: ConversionNames, renames: IndexRename[], reverse: string[], pending: Pick<PendingSql, 'swapCheck' | 'replay' | 'drop'> & { beforeRollback?: string[] }, appSync = false): SwapDdl {
  const droppedFks = choice.options.incomingForeignKeys === 'drop' ? d.incomingForeignKeys : [];
  // The TRUNCATE guard follows the sync: off the heap at the swap (the reverse sync puts it on the partitioned table), gone with the sync.
  const guard = truncateGuardSql(n);
  const swap = [
    `LOCK TABLE ${n.table}, ${n.shadow} IN ACCESS EXCLUSIVE MODE`,
    pending.swapCheck,
    ...pending.replay,
    ...droppedFks.map((fk) => `ALTER TABLE ${fk.fromTable} DROP CONSTRAINT ${qi(fk.name)}`),
    `ALTER TABLE ${n.table} RENAME TO ${qi(n.oldName)}`,
    `ALTER TABLE ${n.shadow} RENAME TO ${qi(n.name)}`,
    ...renameIndexes(n.schema, renames.flatMap((r) => [[r.final, oldIndexName(r.final)], [r.temp, r.final]] as [string, string][])),
    ...addNotValidSql(d, n.table),
    ...(appSync ? [] : [`DROP TRIGGER ${n.forwardTrigger} ON ${n.old}`, `DROP FUNCTION ${n.forwardFn}()`, guard.dropTrigger(n.old)]),
    pending.drop,
    ...moveTriggers(d, n.old, n.table),
    ...viewStatements(d),
    ...sequenceStatements(d, n.table, n.old),
    ...publicationStatements(d, n.old, n.table),
    ...reverse,
  ];
  const swapBack = [
    `LOCK TABLE ${n.table}, ${n.old} IN ACCESS EXCLUSIVE MODE`,
    ...(appSync ? [] : [`DROP TRIGGER ${n.reverseTrigger} ON ${n.table}`, `DROP FUNCTION ${n.reverseFn}()`, ...guard.remove(n.table)]),
    `ALTER TABLE ${n.table} RENAME TO ${qi(n.shadowName)}`,
    `ALTER TABLE ${n.old} RENAME TO ${qi(n.name)}`,
    ...renameIndexes(n.schema, renames.flatMap((r) => [[r.final, r.temp], [oldIndexName(r.final), r.final]] as [string, string][])),
    ...moveTriggers(d, n.shadow, n.table),
    ...viewStatements(d),
    ...sequenceStatements(d, n.table, n.shadow),
    ...publicationStatements(d, n.shadow, n.table),
    ...droppedFks.map((fk) => `ALTER TABLE ${fk.fromTable} ADD CONSTRAINT ${qi(fk.name)} ${fk.definition} NOT VALID`),
    // No DROP here: the partitioned table (now the shadow) is dropped only when it holds nothing
    // the old table lacks, checked in this transaction (activities/conversion/keep-or-drop.ts).
  ];
  // The shadow likewise: dropped by the same check, in the same transaction, or kept aside (the pending keys' table is the run's own bookkeeping).
  const rollbackBeforeSwap = [`LOCK TABLE ${n.table}, ${n.shadow} IN ACCESS EXCLUSIVE MODE`, ...(pending.beforeRollback ?? []), `DROP TRIGGER IF EXISTS ${n.forwardTrigger} ON ${n.table}`, `DROP FUNCTION IF EXISTS ${n.forwardFn}()`, ...guard.remove(n.table), pending.drop];
  const drop = [
    `LOCK TABLE ${n.table}, ${n.old} IN ACCESS EXCLUSIVE MODE`,
    `DROP TRIGGER IF EXISTS ${n.reverseTrigger} ON ${n.table}`,
    `DROP FUNCTION IF EXISTS ${n.reverseFn}()`,
    ...guard.remove(n.table),
    `DROP TABLE ${n.old} RESTRICT`,
  ];
  return { swap, swapBack, rollbackBeforeSwap, drop, refresh: refreshStatements(d) };
}
