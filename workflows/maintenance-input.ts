import { InputError, Reader } from './common/validate';
import { parseTableName, TableNameError, type TableName } from '../src/conversion/choice/names';

/** Same rule as src/config/profiles.ts (kept here: workflows may not import that module's pg). */
export const PROFILE_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * The start input of `partitionMaintenance` (also the Schedule's action input).
 *
 * ```json
 * { "target": "memory_records", "premakeMonths": 2, "retentionMonths": 12, "dropDetached": false }
 * ```
 */
export interface MaintenanceInput {
  /** The partitioned parent table (memory_records). */
  target?: string;
  /** Any range-partitioned table, "name" or "schema.name" (the `table` form: premake, retain; see TableMaintenanceSettings). */
  table?: string;
  premake?: number;
  retain?: number;
  connectionProfile?: string;
  /** Months to premake after the current one (the runbook: current + 2). */
  premakeMonths?: number;
  /** Detach partitions wholly older than this many months before the current month. Omitted = keep all. */
  retentionMonths?: number;
  /** Drop detached partitions older than the retention window. Default false (detach keeps the data). */
  dropDetached?: boolean;
  /** The clock, ISO-8601 (tests cross month and year boundaries). Default: the workflow's time. */
  now?: string;
  /** lock_timeout for each DDL statement, in ms. */
  lockTimeoutMs?: number;
}

export interface MaintenanceSettings {
  target: string;
  /** The connection profile the worker resolves (input `connectionProfile`). */
  connectionProfile: string;
  premakeMonths: number;
  retentionMonths: number | null;
  dropDetached: boolean;
  now: string | null;
  lockTimeoutMs: number;
}

export function parseMaintenanceInput(input: unknown): MaintenanceSettings {
  const r = Reader.root(input === undefined ? {} : input, 'input').only(['target', 'connectionProfile', 'premakeMonths', 'retentionMonths', 'dropDetached', 'now', 'lockTimeoutMs']);
  // create_monthly_partition names partitions memory_records_YYYY_MM whatever the parent, so
  // memory_records is the only parent it can serve without name clashes.
  const target = r.enumOf('target', ['memory_records'] as const, 'memory_records');
  const connectionProfile = r.string('connectionProfile', { default: 'default', pattern: PROFILE_PATTERN, allowed: 'a connection profile name: lower-case letters, digits, _ or - (never a URL or password)' });
  const premakeMonths = r.int('premakeMonths', { default: 2, min: 0, max: 36 });
  const retentionMonths = r.has('retentionMonths') ? r.int('retentionMonths', { min: 1, max: 1200 }) : null;
  const dropDetached = r.bool('dropDetached', false);
  if (dropDetached && retentionMonths === null) throw new InputError('dropDetached', 'requires retentionMonths (only partitions older than the retention window are ever dropped)');
  const now = r.instant('now') ?? null;
  const lockTimeoutMs = r.int('lockTimeoutMs', { default: 2000, min: 10, max: 60_000 });
  return { target, connectionProfile, premakeMonths, retentionMonths, dropDetached, now, lockTimeoutMs };
}

/** The first day of the month of `iso` (UTC), shifted by `offset` months: 'YYYY-MM-01'. Deterministic. */
export function monthStart(iso: string, offset = 0): string {
  const d = new Date(iso);
  const total = d.getUTCFullYear() * 12 + d.getUTCMonth() + offset;
  const y = Math.floor(total / 12);
  const m = total - y * 12 + 1;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-01`;
}

/**
 * The `table` form: any range-partitioned table, its interval read from its partitions.
 *
 * ```json
 * { "table": "billing.invoices", "premake": 3, "retain": 24, "dropDetached": false }
 * ```
 * `premake`: intervals to create after the current one (default by interval: day 7, week 4,
 * month 2, quarter 1, year 1). `retain`: detach partitions wholly older than this many intervals
 * before the current one (omitted: keep all). `dropDetached` drops what this run detached.
 */
export interface TableMaintenanceSettings {
  table: TableName;
  connectionProfile: string;
  premake: number | null;
  retain: number | null;
  dropDetached: boolean;
  now: string | null;
  lockTimeoutMs: number;
}

export function isTableMaintenanceInput(input: unknown): boolean {
  return typeof input === 'object' && input !== null && 'table' in input;
}

export function parseTableMaintenanceInput(input: unknown): TableMaintenanceSettings {
  const r = Reader.root(input, 'input').only(['table', 'connectionProfile', 'premake', 'retain', 'dropDetached', 'now', 'lockTimeoutMs']);
  let table: TableName;
  try {
    table = parseTableName((input as Record<string, unknown>).table, 'table');
  } catch (err) {
    if (err instanceof TableNameError) throw new InputError('table', err.message.replace(/^table: /, ''));
    throw err;
  }
  const connectionProfile = r.string('connectionProfile', { default: 'default', pattern: PROFILE_PATTERN, allowed: 'a connection profile name: lower-case letters, digits, _ or - (never a URL or password)' });
  const premake = r.has('premake') ? r.int('premake', { min: 0, max: 400 }) : null;
  const retain = r.has('retain') ? r.int('retain', { min: 1, max: 10_000 }) : null;
  const dropDetached = r.bool('dropDetached', false);
  if (dropDetached && retain === null) throw new InputError('dropDetached', 'requires retain (only partitions older than the retention window are ever dropped)');
  const now = r.instant('now') ?? null;
  const lockTimeoutMs = r.int('lockTimeoutMs', { default: 2000, min: 10, max: 60_000 });
  return { table, connectionProfile, premake, retain, dropDetached, now, lockTimeoutMs };
}
