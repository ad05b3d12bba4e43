/**
 * The partition-naming scheme, one per interval, and the bounds of each partition, computed in
 * UTC (whatever the session's TimeZone says):
 *
 * | interval | partition of `orders` holding | name                 | from (inclusive)         |
 * |----------|-------------------------------|----------------------|--------------------------|
 * | day      | 2 Dec 2026                    | `orders_p2026_12_02` | 2026-12-02 00:00 UTC     |
 * | week     | ISO week 49 of 2026           | `orders_p2026w49`    | Monday 2026-11-30 00:00  |
 * | month    | December 2026                 | `orders_p2026_12`    | 2026-12-01 00:00 UTC     |
 * | quarter  | Q4 2026                       | `orders_p2026q4`     | 2026-10-01 00:00 UTC     |
 * | year     | 2026                          | `orders_p2026`       | 2026-01-01 00:00 UTC     |
 *
 * and `orders_default` for the DEFAULT partition when one is chosen. A partition runs from its
 * start to the next one's (exclusive). Week numbers and years are ISO-8601's (IYYY, IW), so the
 * SQL side (`to_char`, `date_trunc`) names a partition exactly as this module does. The table
 * name is shortened, never the suffix, to fit 63 bytes. Pure functions: usable from workflows.
 */
import { withSuffix } from './names';

export const INTERVALS = ['day', 'week', 'month', 'quarter', 'year'] as const;
export type PartitionInterval = (typeof INTERVALS)[number];

/** The column types a range partition by interval can use. */
export const PARTITION_TYPES = ['timestamp with time zone', 'timestamp without time zone', 'date'] as const;
export type PartitionType = (typeof PARTITION_TYPES)[number];

const DAY = 86_400_000;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** Date.UTC without its two-digit-year quirk (years 0–99 are not 1900–1999 here). */
const utc = (y: number, m: number, d: number) => new Date(0).setUTCFullYear(y, m, d);

/** The start (UTC midnight) of the interval holding `t` (ms since the epoch). */
export function floorTo(interval: PartitionInterval, t: number): number {
  const d = new Date(t);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (interval) {
    case 'day': return utc(y, m, d.getUTCDate());
    case 'week': return utc(y, m, d.getUTCDate()) - ((d.getUTCDay() + 6) % 7) * DAY;
    case 'month': return utc(y, m, 1);
    case 'quarter': return utc(y, m - (m % 3), 1);
    case 'year': return utc(y, 0, 1);
  }
}

/** The start of the interval after the one starting at `start`. */
export function nextStart(interval: PartitionInterval, start: number): number {
  const d = new Date(start);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (interval) {
    case 'day': return utc(y, m, d.getUTCDate() + 1);
    case 'week': return utc(y, m, d.getUTCDate() + 7);
    case 'month': return utc(y, m + 1, 1);
    case 'quarter': return utc(y, m + 3, 1);
    case 'year': return utc(y + 1, 0, 1);
  }
}

/** ISO-8601 week-numbering year and week of a Monday (UTC). */
function isoWeek(monday: number): { year: number; week: number } {
  const thursday = new Date(monday + 3 * DAY);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - utc(year, 0, 1)) / (7 * DAY));
  return { year, week };
}

/** The suffix of the partition starting at `start`: `_p2026_12_02`, `_p2026w49`, `_p2026_12`, `_p2026q4`, `_p2026`. */
export function partitionSuffix(interval: PartitionInterval, start: number): string {
  const d = new Date(start);
  const y = pad(d.getUTCFullYear(), 4);
  switch (interval) {
    case 'day': return `_p${y}_${pad(d.getUTCMonth() + 1)}_${pad(d.getUTCDate())}`;
    case 'week': {
      const w = isoWeek(start);
      return `_p${pad(w.year, 4)}w${pad(w.week)}`;
    }
    case 'month': return `_p${y}_${pad(d.getUTCMonth() + 1)}`;
    case 'quarter': return `_p${y}q${Math.floor(d.getUTCMonth() / 3) + 1}`;
    case 'year': return `_p${y}`;
  }
}

/** The same suffix in SQL, of a timestamp expression already in UTC wall-clock time (or a date). */
export function partitionSuffixSql(interval: PartitionInterval, utcExpr: string): string {
  const fmt = { day: '"_p"YYYY"_"MM"_"DD', week: '"_p"IYYY"w"IW', month: '"_p"YYYY"_"MM', quarter: '"_p"YYYY"q"Q', year: '"_p"YYYY' }[interval];
  return `to_char(date_trunc('${interval}', ${utcExpr}), '${fmt}')`;
}

export function partitionName(table: string, interval: PartitionInterval, start: number): string {
  return withSuffix(table, partitionSuffix(interval, start));
}

export function defaultPartitionName(table: string): string {
  return withSuffix(table, '_default');
}

/** A bound literal for the column's type: UTC for timestamptz, wall-clock for timestamp, a date for date. */
export function boundLiteral(type: PartitionType, t: number): string {
  const iso = new Date(t).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const day = iso.slice(0, 10);
  if (type === 'date') return `'${day}'`;
  if (type === 'timestamp without time zone') return `'${day} 00:00:00'`;
  return `'${day} 00:00:00+00'`;
}

/** Every interval start from the one holding `lo` to the one holding `hi`, at most `limit` + 1 (the caller checks). */
export function intervalStarts(interval: PartitionInterval, lo: number, hi: number, limit: number): number[] {
  const out: number[] = [];
  for (let s = floorTo(interval, lo); s <= hi && out.length <= limit; s = nextStart(interval, s)) out.push(s);
  return out;
}

/**
 * Default number of intervals a conversion premakes beyond the current one (options.premake):
 * generous, since the heap accepted any date — a `day` table takes writes 45 days ahead, a
 * `month` table 4 months ahead — and the table's maintenance Schedule keeps as many ahead after.
 */
export const CONVERSION_PREMAKE: Record<PartitionInterval, number> = { day: 45, week: 10, month: 4, quarter: 2, year: 2 };

/** Default number of intervals partition maintenance premakes beyond the current one (when neither its input nor a conversion's Schedule says). */
export const DEFAULT_PREMAKE: Record<PartitionInterval, number> = { day: 7, week: 4, month: 2, quarter: 1, year: 1 };

/** Reads a 'YYYY-MM-DD' as UTC midnight. */
export function utcDay(s: string): number {
  const [y, m, d] = s.split('-').map(Number);
  return utc(y, m - 1, d);
}
