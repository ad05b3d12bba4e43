/** The gates' public types and the names they look for (re-exported by ../gates.ts). */

export type GateRule = 'destructive-sql' | 'safe-banner' | 'partition-helper' | 'if-not-exists' | 'parse-error';

export interface GateFinding {
  /** The file as it was named to the checker (for a directory: the directory joined with the name). */
  file: string;
  /** 1-based line where the offending statement starts (for dynamic SQL: the EXECUTE's line). */
  line: number;
  rule: GateRule;
  message: string;
  /** What to do about it. */
  fix: string;
}

export interface MigrationSource {
  name: string;
  sql: string;
}

/** The runbook's safe production migration, the one the banner and partition gates look at. */
export const SAFE_MIGRATION_FILE = '002_partitions.sql';
export const SAFE_MIGRATION_BANNER = 'SAFE PRODUCTION MIGRATION';
export const PARTITION_HELPER = 'create_monthly_partition';
/** Files the destructive-SQL blocker exempts (never deployed to production). */
export const DEV_ONLY_SUFFIX = '_dev.sql';
