import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ClientBase } from 'pg';
import { migrationsDir } from '../devenv/paths';

/**
 * The migration runner the project uses everywhere (tests, workflows' activities, CLI):
 *  - a ledger table, `schema_migrations`, with the checksum of each applied file;
 *  - a session advisory lock, so two runners never interleave;
 *  - each file applied in its own transaction together with its ledger row;
 *  - a clear refusal when an already-applied file has changed since;
 *  - `_dev.sql` files refused against a database marked production or holding records.
 */

/** Which files bring a database to which state. */
export const MIGRATION_PLANS = {
  /** New installs and the production path: the partitioned table (safe migration). */
  partitioned: ['003_control_plane.sql', '004_control_plane_mirror.sql', '005_app_role.sql', '007_instance_membership.sql', '008_app_role_runs.sql', '002_partitions.sql', '006_partition_function.sql'],
  /** A Phase 2 database: the heap table (the conversion path's starting point). */
  heap: ['003_control_plane.sql', '004_control_plane_mirror.sql', '005_app_role.sql', '007_instance_membership.sql', '008_app_role_runs.sql', '001_memory_records_heap.sql', '006_partition_function.sql'],
  /** Conversion step 2: the partitioned shadow table (006 again: 002a redefines the helper). */
  conversion: ['002a_convert_to_partitioned.sql', '006_partition_function.sql'],
  /** Development only: drops and recreates (refused on production or non-empty tables). */
  dev: ['003_control_plane.sql', '004_control_plane_mirror.sql', '005_app_role.sql', '007_instance_membership.sql', '008_app_role_runs.sql', '002_partitions_dev.sql', '006_partition_function.sql'],
  /** The control-plane tables alone (and the app role's grants on them). */
  control: ['003_control_plane.sql', '004_control_plane_mirror.sql', '005_app_role.sql', '007_instance_membership.sql', '008_app_role_runs.sql'],
} as const;
export type MigrationPlan = keyof typeof MIGRATION_PLANS;

/** Advisory lock key shared by every runner: hashtext('lichen-cutover:migrations'). */
const LOCK_KEY_SQL = `hashtext('lichen-cutover:migrations')`;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export type MigrationOutcome = 'applied' | 'reapplied' | 'skipped';

export interface MigrationResult {
  name: string;
  checksum: string;
  outcome: MigrationOutcome;
  ms: number;
}

export class MigrationChangedError extends Error {
  constructor(
    public readonly file: string,
    public readonly appliedChecksum: string,
    public readonly currentChecksum: string,
  ) {
    super(
      `${file} was applied with checksum ${appliedChecksum.slice(0, 12)}… but the file now has ${currentChecksum.slice(0, 12)}…: ` +
        `applied migrations are immutable. Restore the applied version and put the change in a new migration file.`,
    );
    this.name = 'MigrationChangedError';
  }
}

export class DestructiveMigrationRefusedError extends Error {
  constructor(file: string, reason: string) {
    super(`${file} is a destructive development migration and is refused here: ${reason}. ` +
      `Use 002_partitions.sql (safe) or the conversion procedure; _dev.sql files are only for empty development databases.`);
    this.name = 'DestructiveMigrationRefusedError';
  }
}

export class MigrationFailedError extends Error {
  constructor(
    public readonly file: string,
    public readonly sqlState: string | undefined,
    message: string,
    public readonly hint?: string,
  ) {
    super(`${file} failed${sqlState ? ` (SQLSTATE ${sqlState})` : ''}: ${message}${hint ? `\nHint: ${hint}` : ''}`);
    this.name = 'MigrationFailedError';
  }
}

export function checksumOf(sql: string): string {
  return crypto.createHash('sha256').update(sql).digest('hex');
}

export function loadMigration(name: string, dir: string = migrationsDir): MigrationFile {
  if (path.basename(name) !== name || !name.endsWith('.sql')) {
    throw new Error(`migration name ${JSON.stringify(name)} must be a plain file name ending in .sql`);
  }
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) throw new Error(`migration ${name} not found in ${dir}`);
  const sql = fs.readFileSync(file, 'utf8');
  return { name, sql, checksum: checksumOf(sql) };
}

export function listMigrations(dir: string = migrationsDir): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
}

export interface ApplyOptions {
  dir?: string;
  /**
   * Execute files already in the ledger again (they are idempotent), e.g. the production
   * workflow's *migrate* phase re-applying the safe migration. A changed file is still refused.
   */
  reapply?: boolean;
  /** Who applies (recorded in the ledger). */
  appliedBy?: string;
}

export async function ensureLedger(client: ClientBase): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY_SQL})`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      filename      text        PRIMARY KEY,
      checksum      text        NOT NULL,
      applied_at    timestamptz NOT NULL DEFAULT now(),
      applied_by    text        NOT NULL DEFAULT current_user,
      reapplied_at  timestamptz,
      reapply_count integer     NOT NULL DEFAULT 0
    )`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Is this database marked production (cutover_database_marker)? */
export async function isMarkedProduction(client: ClientBase): Promise<boolean> {
  const r = await client.query<{ env: string | null }>(
    `SELECT CASE WHEN to_regclass('cutover_database_marker') IS NULL THEN NULL
                 ELSE (SELECT environment FROM cutover_database_marker LIMIT 1) END AS env`,
  );
  return r.rows[0]?.env === 'production';
}

/**
 * Refuses a _dev.sql file on a database marked production or whose memory_records holds rows.
 * Runs INSIDE the file's transaction, after locking what it checks: memory_records in ACCESS
 * EXCLUSIVE mode (no row can be inserted between the check and the DROP) and the marker table
 * in SHARE mode (no one marks the database production meanwhile). Check and act are one step.
 */
async function guardDestructive(client: ClientBase, file: MigrationFile): Promise<void> {
  if (!file.name.endsWith('_dev.sql')) return;
  await client.query(`DO $lock$ BEGIN
      IF to_regclass('cutover_database_marker') IS NOT NULL THEN LOCK TABLE cutover_database_marker IN SHARE MODE; END IF;
      IF to_regclass('memory_records') IS NOT NULL THEN LOCK TABLE memory_records IN ACCESS EXCLUSIVE MODE; END IF;
    END $lock$`);
  if (await isMarkedProduction(client)) throw new DestructiveMigrationRefusedError(file.name, 'the database is marked production');
  const r = await client.query<{ has_rows: boolean | null }>(
    `SELECT CASE WHEN to_regclass('memory_records') IS NULL THEN NULL
                 ELSE EXISTS (SELECT 1 FROM memory_records LIMIT 1) END AS has_rows`,
  );
  if (r.rows[0]?.has_rows) throw new DestructiveMigrationRefusedError(file.name, 'memory_records holds rows that it would delete');
}

/**
 * Applies the named migration files in the given order. Holds the runners' advisory lock for
 * the whole call; each file runs in one transaction with its ledger row.
 */
export async function applyMigrations(client: ClientBase, names: readonly string[], opts: ApplyOptions = {}): Promise<MigrationResult[]> {
  const files = names.map((n) => loadMigration(n, opts.dir));
  await ensureLedger(client);
  await client.query(`SELECT pg_advisory_lock(${LOCK_KEY_SQL})`);
  const results: MigrationResult[] = [];
  try {
    for (const file of files) {
      const t0 = Date.now();
      const prior = await client.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE filename = $1', [file.name]);
      const applied = prior.rows[0];
      if (applied && applied.checksum !== file.checksum) throw new MigrationChangedError(file.name, applied.checksum, file.checksum);
      if (applied && !opts.reapply) {
        results.push({ name: file.name, checksum: file.checksum, outcome: 'skipped', ms: 0 });
        continue;
      }
      await client.query('BEGIN');
      try {
        await guardDestructive(client, file);
        await client.query(file.sql);
        if (applied) {
          await client.query(
            'UPDATE schema_migrations SET reapplied_at = now(), reapply_count = reapply_count + 1 WHERE filename = $1',
            [file.name],
          );
        } else {
          await client.query(
            'INSERT INTO schema_migrations (filename, checksum, applied_by) VALUES ($1, $2, $3)',
            [file.name, file.checksum, opts.appliedBy ?? 'lichen-cutover'],
          );
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        if (err instanceof DestructiveMigrationRefusedError) throw err;
        const e = err as { code?: string; message: string; hint?: string };
        throw new MigrationFailedError(file.name, e.code, e.message, e.hint);
      }
      results.push({ name: file.name, checksum: file.checksum, outcome: applied ? 'reapplied' : 'applied', ms: Date.now() - t0 });
    }
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY_SQL})`).catch(() => undefined);
  }
  return results;
}

export type DatabaseEnvironment = 'production' | 'staging' | 'development';

/**
 * Writes the database marker (cutover_database_marker, of 003): `production` makes the runner
 * refuse every _dev.sql file here for good. Idempotent; returns the previous environment.
 */
export async function markDatabase(client: ClientBase, environment: DatabaseEnvironment): Promise<string | null> {
  const prev = await client.query<{ environment: string }>(`SELECT environment FROM cutover_database_marker WHERE singleton`);
  await client.query(
    `INSERT INTO cutover_database_marker (singleton, environment) VALUES (true, $1)
     ON CONFLICT (singleton) DO UPDATE SET environment = EXCLUDED.environment, marked_at = now()
      WHERE cutover_database_marker.environment IS DISTINCT FROM EXCLUDED.environment`,
    [environment],
  );
  return prev.rows[0]?.environment ?? null;
}

export async function applyPlan(client: ClientBase, plan: MigrationPlan, opts: ApplyOptions = {}): Promise<MigrationResult[]> {
  return applyMigrations(client, MIGRATION_PLANS[plan], opts);
}
