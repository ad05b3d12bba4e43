import { qi } from '../descriptor/names';
import type { ColumnDesc, TableDescriptor } from '../descriptor/types';
import type { Analysis } from './analyse';
import type { ConversionChoice } from './choice';
import { partitionName, partitionSuffix, partitionSuffixSql, type PartitionType } from './intervals';
import type { ConversionNames } from './names';

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

const STEP: Record<ConversionChoice['interval'], string> = { day: '1 day', week: '7 days', month: '1 month', quarter: '3 months', year: '1 year' };

/** plpgsql that creates NEW's partition of `parent` when it is missing (a write never fails for want of one). */
function ensurePartitionSql(d: TableDescriptor, choice: ConversionChoice, type: PartitionType, parent: string): string {
  const col = `NEW.${qi(choice.column)}`;
  const probe = partitionName(d.name, choice.interval, 0);
  const base = probe.slice(0, probe.length - partitionSuffix(choice.interval, 0).length);
  const fmt = type === 'date' ? 'YYYY-MM-DD' : 'YYYY-MM-DD HH24:MI:SS';
  const zone = type === 'timestamp with time zone' ? ` || '+00'` : '';
  const storage = d.storage.length ? ` WITH (${d.storage.join(', ')})` : '';
  const finite = type === 'date' || type.startsWith('timestamp') ? `isfinite(${col})` : 'true';
  return `IF ${col} IS NOT NULL AND ${finite} THEN
    lo := date_trunc('${choice.interval}', ${utcExpr(type, col)});
    part := '${base.replace(/'/g, "''")}' || ${partitionSuffixSql(choice.interval, 'lo')};
    IF to_regclass(format('%I.%I', ${`'${d.schema.replace(/'/g, "''")}'`}, part)) IS NULL THEN
      BEGIN
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I.%I PARTITION OF ${parent.replace(/%/g, '%%').replace(/'/g, "''")} FOR VALUES FROM (%L) TO (%L)${storage.replace(/'/g, "''")}',
          '${d.schema.replace(/'/g, "''")}', part, to_char(lo, '${fmt}')${zone}, to_char(lo + interval '${STEP[choice.interval]}', '${fmt}')${zone});
      EXCEPTION WHEN duplicate_table OR unique_violation THEN NULL;
      END;
    END IF;
  END IF;`;
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
DECLARE lo timestamp; part text;
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

export function syncDdl(d: TableDescriptor, a: Analysis, choice: ConversionChoice, names: ConversionNames, type: PartitionType): SyncDdl {
  const key = a.key?.columns ?? [];
  const trigger = (name: string, on: string, fn: string) => [
    `CREATE TRIGGER ${name} AFTER INSERT OR UPDATE OR DELETE ON ${on} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
    `ALTER TABLE ${on} ENABLE ALWAYS TRIGGER ${name}`,
  ];
  return {
    forward: [
      mirrorFunctionSql(names.forwardFn, names.shadow, d, a.conflictColumns, a.conflictColumns, ensurePartitionSql(d, choice, type, names.shadow)),
      ...trigger(names.forwardTrigger, names.table, names.forwardFn),
    ],
    // After the swap names.table is the partitioned table and names.old the heap (unique on the key).
    reverse: [
      mirrorFunctionSql(names.reverseFn, names.old, d, key, key, null),
      ...trigger(names.reverseTrigger, names.table, names.reverseFn),
    ],
  };
}
