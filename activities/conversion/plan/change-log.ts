import { qi, withSuffix } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';
import type { Analysis } from './analyse';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import type { PartitionType } from '../../../src/conversion/choice/intervals';
import type { ConversionNames } from './names';
import { PENDING_NO_PARTITION, placementSql } from './pending';
import { rowSql } from './sync-ddl';
import { partitionSecuritySql } from './shadow-ddl';
import { truncateGuardSql } from './truncate-guard';

/**
 * The change-log engine's SQL (issue 25 item 2, the design of pg_repack and pg-osc on partitions).
 *
 * The forward sync trigger writes nothing but the key of each write into a log the tool owns,
 * `<table>_lichen_log (seq bigserial, op, key columns…)` in the table's schema: an INSERT logs
 * NEW's key, a DELETE OLD's, an UPDATE OLD's and, when the key changed, NEW's too. It runs as
 * SECURITY DEFINER with an empty search_path (every name qualified): the application's role needs
 * no privilege on the log.
 *
 * The replay makes the shadow equal to the heap for every logged key, from the heap's CURRENT
 * state: in ONE REPEATABLE READ transaction (one snapshot S for every statement) it deletes every
 * log entry visible in S (keeping their keys), deletes those keys' rows from the shadow and
 * inserts the heap's rows of those keys as S sees them. A writer whose entry S does not see
 * committed after S: its entry stays for the next replay. Idempotent: a replay twice converges.
 * Inside the swap's transaction (the heap under ACCESS EXCLUSIVE, no writer) the same statements
 * drain the tail.
 */
export interface ChangeLogSql {
  /** The log's raw name and its quoted qualified name. */
  name: string;
  table: string;
  create: string;
  drop: string;
  /** The forward trigger's function (CREATE OR REPLACE), logging keys. */
  logFunction: string;
  /** The replay's statements, run in order in one transaction (REPEATABLE READ outside the swap). */
  replay: string[];
  /**
   * The rollback before the swap, under its locks: the shadow's images of logged keys are deleted
   * (the heap holds newer ones), so the keep-or-drop check that follows sees only rows the table
   * really lacks. The log's entries go with them.
   */
  forget: string[];
  /** How many keys the replay took (after replay[0], in its transaction). */
  replayedCount: string;
  /** Entries left in the log. */
  countSql: string;
  /** Interval starts (UTC 'YYYY-MM-DD') of logged keys' heap rows that have no partition in the shadow yet, and whether one can have none (±infinity). */
  missingStartsSql: string;
  /** Fails the swap's attempt (LP001) when a logged key's heap row has no partition yet. */
  swapCheck: string;
  /** The owner and grants a partition takes (the copy's plain table, once it replaces the shadow's empty partition). */
  partitionSecurity: (partition: string) => string[];
  /** Columns the copy writes (generated ones are computed), quoted. */
  insertColumns: string[];
  /**
   * The rate-bounded copy's chunk into `fill` of the heap's rows satisfying `bound`: the next
   * `$k+1` rows in key order after the cursor $1..$k (all NULL: from the first); returns the rows
   * read and the last key (text). Run in the lane's snapshot transaction, chunk after chunk.
   */
  chunkSql: (fill: string, bound: string) => string;
  /** A range-parity filter: true for a row of alias `t` whose key is not in the log (its shadow image may lag until replayed). */
  notLogged: (alias: string) => string;
}

export const CHANGE_LOG_KEYS = 'lichen_log_keys';

export function changeLogSql(d: TableDescriptor, a: Analysis, choice: ConversionChoice, n: ConversionNames, type: PartitionType): ChangeLogSql {
  const name = withSuffix(d.name, '_lichen_log');
  const table = `${qi(d.schema)}.${qi(name)}`;
  const key = a.key?.columns ?? [];
  const kq = key.map(qi);
  const keyTypes = key.map((k) => d.columns.find((c) => c.name === k)!.type);
  const col = qi(choice.column);
  const tuple = (prefix: string) => `(${kq.map((k) => `${prefix}${k}`).join(', ')})`;
  const logRow = (rec: 'NEW' | 'OLD') => `INSERT INTO ${table} (op, ${kq.join(', ')}) VALUES (left(TG_OP, 1)::"char", ${kq.map((k) => `${rec}.${k}`).join(', ')});`;
  const r = rowSql(d);
  const keys = CHANGE_LOG_KEYS;
  const on = (x: string, y: string) => kq.map((k) => `${x}.${k} = ${y}.${k}`).join(' AND ');
  const place = placementSql(d, choice, type);
  const createLog = `CREATE TABLE IF NOT EXISTS ${table} (seq bigserial PRIMARY KEY, op "char" NOT NULL, ${key.map((k, i) => `${qi(k)} ${keyTypes[i]}`).join(', ')})`;
  const noPartition = choice.options.defaultPartition ? 'false' : `h.${col} IS NOT NULL AND NOT ${place.placeable(`h.${col}`)}`;
  return {
    name,
    table,
    create: createLog,
    drop: `DROP TABLE IF EXISTS ${table}`,
    logFunction: `CREATE OR REPLACE FUNCTION ${n.forwardFn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $lichen$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    ${logRow('OLD')}
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND ${tuple('NEW.')} IS DISTINCT FROM ${tuple('OLD.')}) THEN
    ${logRow('NEW')}
  END IF;
  RETURN NULL;
END
$lichen$`,
    replay: [
      `CREATE TEMP TABLE ${keys} ON COMMIT DROP AS WITH d AS (DELETE FROM ${table} RETURNING ${kq.join(', ')}) SELECT DISTINCT ${kq.join(', ')} FROM d`,
      // Its statistics (a new table has none): without them the planner takes it for ~2,000 keys and deletes them from the
      // shadow by a scan of every partition, not through their key indexes — inside the swap's lock, on its last round.
      `ANALYZE ${keys}`,
      `DELETE FROM ${n.shadow} s USING ${keys} k WHERE ${on('s', 'k')}`,
      `INSERT INTO ${n.shadow} (${r.insertColumns.join(', ')})${r.overriding} SELECT ${r.insertColumns.map((c) => `h.${c}`).join(', ')} FROM ${n.table} h JOIN ${keys} k ON ${on('h', 'k')}`,
      `DROP TABLE ${keys}`,
    ],
    forget: [
      // A rollback before the sync was installed finds no log: an empty one, dropped with the sync.
      createLog,
      `CREATE TEMP TABLE ${keys} ON COMMIT DROP AS WITH d AS (DELETE FROM ${table} RETURNING ${kq.join(', ')}) SELECT DISTINCT ${kq.join(', ')} FROM d`,
      `ANALYZE ${keys}`,
      `DELETE FROM ${n.shadow} s USING ${keys} k WHERE ${on('s', 'k')}`,
      `DROP TABLE ${keys}`,
    ],
    replayedCount: `SELECT count(*)::int AS n FROM ${keys}`,
    countSql: `SELECT count(*)::int AS n FROM ${table}`,
    missingStartsSql: `SELECT DISTINCT CASE WHEN ${place.finite(`h.${col}`)} THEN ${place.start(`h.${col}`)} END AS start, NOT ${place.finite(`h.${col}`)} AS unplaceable
  FROM ${n.table} h WHERE EXISTS (SELECT 1 FROM ${table} l WHERE ${on('l', 'h')}) AND ${noPartition} ORDER BY 1`,
    swapCheck: `DO $lichen$ BEGIN
  IF EXISTS (SELECT 1 FROM ${n.table} h WHERE EXISTS (SELECT 1 FROM ${table} l WHERE ${on('l', 'h')}) AND ${noPartition}) THEN
    RAISE EXCEPTION 'a logged write of ${n.table.replace(/'/g, "''")} has no partition in ${n.shadow.replace(/'/g, "''")} yet' USING ERRCODE = '${PENDING_NO_PARTITION}';
  END IF;
END $lichen$`,
    chunkSql: (fill: string, bound: string) => {
      const types = key.map((k) => d.columns.find((c) => c.name === k)!.baseType);
      const params = `(${key.map((_, i) => `$${i + 1}::${types[i]}`).join(', ')})`;
      const hk = `(${kq.map((k) => `h.${k}`).join(', ')})`;
      const read = [...r.insertColumns, ...kq.filter((k) => !r.insertColumns.includes(k))];
      return `WITH src AS MATERIALIZED (
  SELECT ${read.map((c) => `h.${c}`).join(', ')} FROM ${n.table} h WHERE (${bound}) AND ($1::${types[0]} IS NULL OR ${hk} > ${params})
   ORDER BY ${kq.map((k) => `h.${k}`).join(', ')} LIMIT $${key.length + 1}
), ins AS (INSERT INTO ${fill} (${r.insertColumns.join(', ')}) SELECT ${r.insertColumns.join(', ')} FROM src RETURNING 1),
last AS (SELECT ${kq.join(', ')} FROM src ORDER BY ${kq.map((k) => `${k} DESC`).join(', ')} LIMIT 1)
SELECT (SELECT count(*) FROM ins)::int AS n, (SELECT json_build_array(${kq.map((k) => `${k}::text`).join(', ')}) FROM last) AS last_key`;
    },
    partitionSecurity: (partition: string) => partitionSecuritySql(d, partition),
    insertColumns: r.insertColumns,
    notLogged: (alias: string) => `NOT EXISTS (SELECT 1 FROM ${table} l WHERE ${on('l', alias)})`,
  };
}

/** The forward sync of the change-log engine: the log, its function, the trigger (as the row sync's), and the guard refusing a TRUNCATE (plan/truncate-guard.ts). */
export function changeLogSync(log: ChangeLogSql, n: ConversionNames): string[] {
  return [
    log.create,
    log.logFunction,
    `CREATE TRIGGER ${n.forwardTrigger} AFTER INSERT OR UPDATE OR DELETE ON ${n.table} FOR EACH ROW EXECUTE FUNCTION ${n.forwardFn}()`,
    `ALTER TABLE ${n.table} ENABLE ALWAYS TRIGGER ${n.forwardTrigger}`,
    ...truncateGuardSql(n).install(n.table),
  ];
}
