import { qi } from '../../../src/conversion/choice/names';
import type { ColumnDesc, TableDescriptor } from '../descriptor/types';
import type { Analysis } from './analyse';
import type { PartitionType } from '../../../src/conversion/choice/intervals';
import type { ConversionNames } from './names';
import { truncateGuardSql } from './truncate-guard';

/**
 * The generated SQL that moves rows: the sync functions (forward heap → shadow, reverse new →
 * old), the keyset copy batch, the parity checksum and the repair, all from the descriptor.
 *
 * The sync functions run in the writer's own transaction (AFTER ROW triggers), as SECURITY
 * DEFINER with an empty search_path (every name in them is qualified), so the application's
 * role needs no privilege on the shadow or the old table. They see NEW after every BEFORE
 * trigger, so a stamping trigger's values are mirrored as written; the user's triggers are never
 * on the table the sync writes, so the sync's writes fire none of them.
 */
export interface RowSql {
  /** Columns written (every column but generated ones), quoted. */
  insertColumns: string[];
  overriding: string;
}

export function rowSql(d: TableDescriptor): RowSql {
  const cols = d.columns.filter((c) => !c.generated);
  return { insertColumns: cols.map((c) => qi(c.name)), overriding: d.columns.some((c) => c.identity === 'a') ? ' OVERRIDING SYSTEM VALUE' : '' };
}

const eqOld = (cols: string[]) => cols.map((c) => `${qi(c)} = OLD.${qi(c)}`).join(' AND ');
const tuple = (prefix: string, cols: string[]) => `(${cols.map((c) => `${prefix}${qi(c)}`).join(', ')})`;

/**
 * Identity GENERATED ALWAYS columns: an INSERT may set them (OVERRIDING SYSTEM VALUE) but an
 * UPDATE only to DEFAULT (428C9), so the upsert's SET leaves them out and the mirror treats a
 * change of one like a change of the key (delete, then insert the new image).
 */
export const alwaysIdentity = (d: TableDescriptor) => d.columns.filter((c) => c.identity === 'a').map((c) => c.name);

function upsert(into: string, r: RowSql, conflict: string[], values: string, unsettable: string[]): string {
  const fixed = [...conflict, ...unsettable].map(qi);
  const set = r.insertColumns.filter((c) => !fixed.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
  return `INSERT INTO ${into} (${r.insertColumns.join(', ')})${r.overriding} ${values}
    ON CONFLICT (${conflict.map(qi).join(', ')}) DO ${set.length ? `UPDATE SET ${set.join(', ')}` : 'NOTHING'}`;
}

/** The partition column in UTC wall-clock time (a timestamp), for date_trunc and to_char. */
export function utcExpr(type: PartitionType, expr: string): string {
  if (type === 'timestamp with time zone') return `(${expr} AT TIME ZONE 'UTC')`;
  if (type === 'date') return `(${expr})::timestamp`;
  return expr;
}

/**
 * A row-level mirror function into `into`. `matchColumns` find the mirrored row (they hold the
 * target's unique key); an UPDATE that changes them (or an ALWAYS identity column, which no
 * UPDATE may set) deletes the old row first (it may move to another partition).
 */
export function mirrorFunctionSql(fn: string, into: string, d: TableDescriptor, matchColumns: string[], conflict: string[], ensure: string | null): string {
  const r = rowSql(d);
  const always = alwaysIdentity(d).filter((c) => !matchColumns.includes(c));
  const moved = [...matchColumns, ...always];
  const values = `VALUES (${d.columns.filter((c: ColumnDesc) => !c.generated).map((c) => `NEW.${qi(c.name)}`).join(', ')})`;
  return `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $lichen$
BEGIN
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND ${tuple('NEW.', moved)} IS DISTINCT FROM ${tuple('OLD.', moved)}) THEN
    DELETE FROM ${into} WHERE ${eqOld(matchColumns)};
    IF TG_OP = 'DELETE' THEN RETURN NULL; END IF;
  END IF;
  ${ensure ?? ''}
  ${upsert(into, r, conflict, values, always)};
  RETURN NULL;
END
$lichen$`;
}

export interface SyncDdl {
  forward: string[];
  reverse: string[];
}

/**
 * `pending`: the side table and the guard that keeps a write the shadow has no partition for out
 * of it (plan/pending.ts): the sync never creates a partition inside the application's transaction.
 */
export function syncDdl(d: TableDescriptor, a: Analysis, names: ConversionNames, pending: { create: string; guard: string }): SyncDdl {
  const key = a.key?.columns ?? [];
  const trigger = (name: string, on: string, fn: string) => [
    `CREATE TRIGGER ${name} AFTER INSERT OR UPDATE OR DELETE ON ${on} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
    `ALTER TABLE ${on} ENABLE ALWAYS TRIGGER ${name}`,
  ];
  const guard = truncateGuardSql(names);
  return {
    forward: [
      pending.create,
      mirrorFunctionSql(names.forwardFn, names.shadow, d, a.conflictColumns, a.conflictColumns, pending.guard || null),
      ...trigger(names.forwardTrigger, names.table, names.forwardFn),
      ...guard.install(names.table),
    ],
    // After the swap names.table is the partitioned table and names.old the heap (unique on the key).
    reverse: [
      mirrorFunctionSql(names.reverseFn, names.old, d, key, key, null),
      ...trigger(names.reverseTrigger, names.table, names.reverseFn),
      ...guard.install(names.table),
    ],
  };
}
