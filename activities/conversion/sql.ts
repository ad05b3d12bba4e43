/**
 * Names and SQL of the heap-to-partitioned conversion. The shadow's name is fixed by
 * 002a_convert_to_partitioned.sql; partitions are memory_records_YYYY_MM and keep their names
 * after the swap. Only the `memory_records` target exists today, so the names are constants.
 */
export const HEAP = 'memory_records';
export const SHADOW = 'memory_records_partitioned';
export const OLD = 'memory_records_old';

/** How the shadow (then the old table) is kept in sync: a trigger, or the app's mirror (app-sync.ts). */
export type SyncKind = 'trigger' | 'app-dual-write';

export const FORWARD_TRIGGER = 'lichen_conversion_sync_forward';
export const REVERSE_TRIGGER = 'lichen_conversion_sync_reverse';
export const FORWARD_FN = 'lichen_conversion_sync_forward_fn';
export const REVERSE_FN = 'lichen_conversion_sync_reverse_fn';

export const COLUMNS = ['id', 'owner_id', 'agent_id', 'kind', 'content', 'metadata', 'created_at', 'updated_at'] as const;
const cols = COLUMNS.join(', ');
const setAll = COLUMNS.filter((c) => c !== 'id' && c !== 'created_at').map((c) => `${c} = EXCLUDED.${c}`).join(', ');

/**
 * A row-level mirror: the function runs inside the writer's own transaction, under the source
 * row's lock, so the mirror sees every change in commit order and is authoritative: it needs
 * no version guard (the copy path, which can read an older version, carries the guard).
 * An UPDATE that moves created_at deletes the old key first (the key is (id, created_at)).
 * `createPartitions` makes the forward mirror create a missing month on demand, so an app
 * write with an unexpected month never fails because of the shadow.
 */
function mirrorFunctionSql(fn: string, into: string, createPartitions: boolean): string {
  const ensure = createPartitions
    ? `IF to_regclass(format('memory_records_%s', to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY_MM'))) IS NULL THEN
         PERFORM create_monthly_partition((NEW.created_at AT TIME ZONE 'UTC')::date, '${into}');
       END IF;`
    : '';
  return `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM ${into} WHERE id = OLD.id AND created_at = OLD.created_at;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    DELETE FROM ${into} WHERE id = OLD.id AND created_at = OLD.created_at;
  END IF;
  ${ensure}
  INSERT INTO ${into} (${cols})
  VALUES (NEW.id, NEW.owner_id, NEW.agent_id, NEW.kind, NEW.content, NEW.metadata, NEW.created_at, NEW.updated_at)
  ON CONFLICT (id, created_at) DO UPDATE SET ${setAll};
  RETURN NULL;
END
$fn$`;
}

export const FORWARD_FN_SQL = mirrorFunctionSql(FORWARD_FN, SHADOW, true);
export const REVERSE_FN_SQL = mirrorFunctionSql(REVERSE_FN, OLD, false);

export const CREATE_FORWARD_TRIGGER_SQL =
  `CREATE TRIGGER ${FORWARD_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON ${HEAP} FOR EACH ROW EXECUTE FUNCTION ${FORWARD_FN}()`;
/** Installed on the partitioned table right after the swap (then named memory_records). */
export const CREATE_REVERSE_TRIGGER_SQL =
  `CREATE TRIGGER ${REVERSE_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON ${HEAP} FOR EACH ROW EXECUTE FUNCTION ${REVERSE_FN}()`;

/** The copy path: never overwrites a version that is as new or newer (the mirror got there first). */
export function guardedUpsertSql(into: string, selectSql: string): string {
  return `INSERT INTO ${into} AS s (${cols}) ${selectSql}
          ON CONFLICT (id, created_at) DO UPDATE SET ${setAll} WHERE s.updated_at < EXCLUDED.updated_at`;
}

/** Repair: make the shadow row equal to the heap row, whatever its version. */
export function exactUpsertSql(into: string, selectSql: string): string {
  return `INSERT INTO ${into} AS s (${cols}) ${selectSql}
          ON CONFLICT (id, created_at) DO UPDATE SET ${setAll}
          WHERE (s.owner_id, s.agent_id, s.kind, s.content, s.metadata, s.updated_at)
                IS DISTINCT FROM (EXCLUDED.owner_id, EXCLUDED.agent_id, EXCLUDED.kind, EXCLUDED.content, EXCLUDED.metadata, EXCLUDED.updated_at)`;
}

export const SELECT_COLUMNS = cols;

/** A timestamptz as exact UTC text with microseconds (JS Dates would drop them). */
export const utcText = (expr: string) => `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
