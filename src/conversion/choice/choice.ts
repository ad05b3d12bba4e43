import { InputError, Reader } from '../../shared/input-reader';
import { parseColumnName, parseTableName, spellTable, TableNameError, type TableName } from './names';
import { CONVERSION_PREMAKE, INTERVALS, type PartitionInterval } from './intervals';

/**
 * What the operator chose: the table, the partitioning, and an answer to each blocker that has
 * options. The same object is the workflow input's `table` / `partitionBy` / `options` and the
 * `cutover plan conversion` flags. Pure and deterministic (workflows validate with it).
 *
 * ```json
 * { "table": "billing.invoices", "partitionBy": { "column": "issued_at", "interval": "month" },
 *   "options": { "uniqueKeys": { "invoices_number_key": "extend" }, "incomingForeignKeys": "drop",
 *                "defaultPartition": true, "premake": 3, "maxPartitions": 1000,
                "maintenance": { "schedule": true, "everyHours": 24 } } }
 * ```
 */
export interface ConversionChoice {
  table: TableName;
  column: string;
  interval: PartitionInterval;
  /**
   * "copy" (the default): a partitioned shadow filled by the copy, then swapped. "attach": the
   * heap itself becomes the partition holding every row below a bound, no row copied
   * (plan/attach-ddl.ts); new partitions from the bound on.
   */
  mode: ConversionMode;
  options: ConversionOptions;
}

export const CONVERSION_MODES = ['copy', 'attach'] as const;
export type ConversionMode = (typeof CONVERSION_MODES)[number];

export interface ConversionOptions {
  /** Per unique constraint or index without the partition column: add the column to it, or drop it. */
  uniqueKeys: Record<string, 'extend' | 'drop'>;
  /** Foreign keys of other tables pointing at this one: "drop" them at the swap (after an approval), or keep blocking. */
  incomingForeignKeys: 'drop' | 'block';
  /** A DEFAULT partition for values outside every interval (±infinity). */
  defaultPartition: boolean;
  /** Intervals to create beyond the current one. */
  premake: number;
  /** More partitions than this is a blocker (choose a coarser interval, or raise it). */
  maxPartitions: number;
  /**
   * After the run: the table's partitionMaintenance Schedule (created or updated at the end of the
   * run, every `everyHours`, keeping `premake` intervals ahead), or none when `schedule` is false
   * (the plan and the result then say that nothing keeps partitions ahead).
   */
  maintenance: { schedule: boolean; everyHours: number };
}

export const MAX_PARTITIONS_DEFAULT = 1000;
export const MAX_PARTITIONS_LIMIT = 5000;
export const OPTION_FIELDS = ['uniqueKeys', 'incomingForeignKeys', 'defaultPartition', 'premake', 'maxPartitions', 'maintenance'] as const;

function rethrowName(err: unknown): never {
  if (err instanceof TableNameError) throw new InputError(err.field, err.message.slice(err.field.length + 2));
  throw err;
}

type Obj = Record<string, unknown>;

/**
 * Reads `table`, `partitionBy`, `mode` and `options` of `raw` (an object already checked to be one; other
 * fields are the caller's to check); an InputError names the field.
 */
export function readConversionChoice(raw: Obj, path = ''): ConversionChoice {
  const f = (n: string) => (path ? `${path}.${n}` : n);
  const r = new Reader(raw, path);
  let table: TableName;
  try {
    table = parseTableName(r.string('table', { allowed: 'a table name, "name" or "schema.name" (a part in double quotes as in SQL: "SalesEU"."Order Events")', max: 300 }), f('table'));
  } catch (err) {
    rethrowName(err);
  }
  const by = r.object('partitionBy', true)!.only(['column', 'interval']);
  let column: string;
  try {
    column = parseColumnName(by.string('column', { allowed: 'the partition column (timestamptz, timestamp or date)' }), f('partitionBy.column'));
  } catch (err) {
    rethrowName(err);
  }
  const interval = by.enumOf('interval', INTERVALS);
  const o = r.object('options')?.only(OPTION_FIELDS);
  const uniqueKeys: Record<string, 'extend' | 'drop'> = {};
  const uk = o?.object('uniqueKeys');
  if (uk) {
    for (const name of Object.keys((raw.options as Obj).uniqueKeys as Obj)) {
      let raw: string;
      try {
        raw = parseColumnName(name, f(`options.uniqueKeys.${name}`));
      } catch (err) {
        rethrowName(err);
      }
      uniqueKeys[raw!] = uk.enumOf(name, ['extend', 'drop'] as const);
    }
  }
  const m = o?.object('maintenance')?.only(['schedule', 'everyHours']);
  const mode = r.enumOf('mode', CONVERSION_MODES, 'copy');
  return {
    table: table!,
    column: column!,
    interval,
    mode,
    options: {
      uniqueKeys,
      incomingForeignKeys: o?.enumOf('incomingForeignKeys', ['drop', 'block'] as const, 'block') ?? 'block',
      defaultPartition: o?.bool('defaultPartition', false) ?? false,
      premake: o?.int('premake', { default: CONVERSION_PREMAKE[interval], min: 0, max: 400 }) ?? CONVERSION_PREMAKE[interval],
      maxPartitions: o?.int('maxPartitions', { default: MAX_PARTITIONS_DEFAULT, min: 1, max: MAX_PARTITIONS_LIMIT }) ?? MAX_PARTITIONS_DEFAULT,
      maintenance: { schedule: m?.bool('schedule', true) ?? true, everyHours: m?.int('everyHours', { default: 24, min: 1, max: 24 * 31 }) ?? 24 },
    },
  };
}

/** The choice from a plain object (CLI, tests): `{ table, partitionBy, options, mode }`. */
export function parseConversionChoice(input: unknown): ConversionChoice {
  Reader.root(input, 'input').only(['table', 'partitionBy', 'options', 'mode']);
  return readConversionChoice(input as Obj);
}

export function tableText(t: TableName): string {
  return spellTable(t);
}
