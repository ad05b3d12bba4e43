import type { Pool } from 'pg';
import type { PersistenceKind, PersistenceMode, StoreName } from '../../workflows/types';
import { HEARTBEAT_TTL_MS, listInstances } from '../shared/pg-catalog';

export { listInstances, type InstanceInfo } from '../shared/pg-catalog';

export type { PersistenceMode } from '../../workflows/types';

/**
 * The control plane: how the orchestrator flips every app instance's persistence mode at run
 * time (tables in migrations/003_control_plane.sql).
 *
 *   cutover_control    one row per target: the mode every instance must apply, and its epoch.
 *   cutover_instances  one row per instance: heartbeat, applied epoch and mode.
 *
 * A change (setMode) writes the row with epoch+1 and notifies channel `cutover_control` with
 * payload `<target>:<epoch>` in the same statement. Instances apply it between requests and
 * acknowledge by writing applied_epoch. The barrier (waitForEpoch) returns when every LIVE
 * instance of the target has acknowledged the epoch.
 *
 * LIVENESS RULE
 *   An instance is live when its row has stopped_at IS NULL and its last_heartbeat is within
 *   the heartbeat TTL (default 10 s) of the database's clock. Instances heartbeat every 2 s, so
 *   a live instance misses the TTL only after ~5 consecutive failed heartbeats. Instances that
 *   stopped cleanly (stopped_at set) or went silent for longer than the TTL (crashed, killed,
 *   cut off from Postgres) are excluded from the barrier: waiting for them would block every
 *   cutover on a dead pod. A live instance that has not applied the epoch blocks the barrier
 *   until the timeout, and the timeout error names it. Time is measured with Postgres's now()
 *   on both sides, so app and orchestrator clocks do not matter.
 *   An excluded instance that comes back applies the current control row within one poll
 *   interval (1 s) of reaching Postgres again, in the renewal cycle whose heartbeat makes it
 *   live again (heartbeat, run registry, control row: the epoch is acknowledged right after).
 *   With no live instance at all the barrier returns at once with an empty list.
 *   An instance whose lease (DEFAULT_LEASE_MS, shorter than the TTL) has expired acknowledges
 *   no write until it has re-read the run registry and this row and applied its epoch
 *   (self-fencing, instance-control.ts; it fails closed, whether a run was active or not at its
 *   last read), so an excluded instance writes nothing in a mode the fleet has left.
 */

export const CONTROL_CHANNEL = 'cutover_control';
export const DEFAULT_TARGET = 'memory_records';
/** The heartbeat TTL of the liveness rule (one constant: src/shared/pg-catalog.ts). */
export const DEFAULT_HEARTBEAT_TTL_MS = HEARTBEAT_TTL_MS;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2_000;
export const DEFAULT_POLL_INTERVAL_MS = 1_000;
/**
 * An instance's write lease (self-fencing, instance-control.ts): shorter than the TTL by two
 * heartbeat intervals, so an instance stops acknowledging writes before a barrier may exclude it.
 */
export const DEFAULT_LEASE_MS = DEFAULT_HEARTBEAT_TTL_MS - 2 * DEFAULT_HEARTBEAT_INTERVAL_MS;

const PERSISTENCE_VALUES: readonly PersistenceKind[] = ['memory', 'dual-write', 'postgres'];
const STORE_VALUES: readonly StoreName[] = ['memory', 'postgres'];

export class InvalidModeError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidModeError';
  }
}

/**
 * Boot defaults from the runbook's variables:
 *   PERSISTENCE           memory | dual-write | postgres       (default memory)
 *   DUAL_WRITE_PRIMARY    memory | postgres                    (default memory; dual-write only)
 *   DUAL_WRITE_FAIL_FAST  true | false                         (default false)
 *   DUAL_WRITE_ENABLED    true | false                         (default true)
 * In the single-store modes the primary is that store (a DUAL_WRITE_PRIMARY left over from an
 * earlier runbook step is ignored there, as the runbook's final cutover leaves it set).
 */
export function bootModeFromEnv(env: NodeJS.ProcessEnv = process.env): PersistenceMode {
  const persistence = oneOf(env, 'PERSISTENCE', PERSISTENCE_VALUES, 'memory');
  const primary = oneOf(env, 'DUAL_WRITE_PRIMARY', STORE_VALUES, 'memory');
  const failFast = bool(env, 'DUAL_WRITE_FAIL_FAST', false);
  const dualWriteEnabled = bool(env, 'DUAL_WRITE_ENABLED', true);
  return { persistence, primary: persistence === 'dual-write' ? primary : persistence, failFast, dualWriteEnabled };
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], dflt: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = raw.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(v)) {
    throw new InvalidModeError(name, `${name}=${JSON.stringify(raw)} is not allowed; use one of: ${allowed.join(', ')}`);
  }
  return v as T;
}

function bool(env: NodeJS.ProcessEnv, name: string, dflt: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new InvalidModeError(name, `${name}=${JSON.stringify(raw)} is not allowed; use one of: true, false`);
}

/** Checks a mode given by a caller (the orchestrator); names the field at fault. */
export function validateMode(mode: unknown): PersistenceMode {
  if (!mode || typeof mode !== 'object' || Array.isArray(mode)) throw new InvalidModeError('mode', 'mode must be an object {persistence, primary, failFast, dualWriteEnabled}');
  const m = mode as Record<string, unknown>;
  for (const k of Object.keys(m)) {
    if (!['persistence', 'primary', 'failFast', 'dualWriteEnabled', 'mirrorTable'].includes(k)) {
      throw new InvalidModeError(`mode.${k}`, `mode.${k} is not a mode field; allowed: persistence, primary, failFast, dualWriteEnabled, mirrorTable`);
    }
  }
  if (!PERSISTENCE_VALUES.includes(m.persistence as PersistenceKind)) {
    throw new InvalidModeError('mode.persistence', `mode.persistence must be one of: ${PERSISTENCE_VALUES.join(', ')}`);
  }
  if (!STORE_VALUES.includes(m.primary as StoreName)) throw new InvalidModeError('mode.primary', `mode.primary must be one of: ${STORE_VALUES.join(', ')}`);
  if (typeof m.failFast !== 'boolean') throw new InvalidModeError('mode.failFast', 'mode.failFast must be a boolean');
  if (typeof m.dualWriteEnabled !== 'boolean') throw new InvalidModeError('mode.dualWriteEnabled', 'mode.dualWriteEnabled must be a boolean');
  if (m.persistence !== 'dual-write' && m.primary !== m.persistence) {
    throw new InvalidModeError('mode.primary', `mode.primary must be '${String(m.persistence)}' when mode.persistence is '${String(m.persistence)}'`);
  }
  const out: PersistenceMode = { persistence: m.persistence as PersistenceKind, primary: m.primary as StoreName, failFast: m.failFast, dualWriteEnabled: m.dualWriteEnabled };
  if (m.mirrorTable !== undefined && m.mirrorTable !== null) {
    if (typeof m.mirrorTable !== 'string' || !MIRROR_TABLE_PATTERN.test(m.mirrorTable)) {
      throw new InvalidModeError('mode.mirrorTable', 'mode.mirrorTable must be an unquoted table name (lower-case letters, digits, _; at most 63) or absent');
    }
    if (m.persistence !== 'postgres') throw new InvalidModeError('mode.mirrorTable', `mode.mirrorTable is allowed only with persistence 'postgres' (got '${String(m.persistence)}')`);
    out.mirrorTable = m.mirrorTable;
  }
  return out;
}

/** A mirror table's name: what 004_control_plane_mirror.sql's check allows. */
export const MIRROR_TABLE_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

export interface ControlRow {
  target: string;
  mode: PersistenceMode;
  epoch: number;
  changedBy: string;
  reason: string;
  changedAt: Date;
}

interface ControlDbRow {
  target: string;
  persistence: PersistenceKind;
  dual_write_primary: StoreName;
  fail_fast: boolean;
  dual_write_enabled: boolean;
  mirror_table?: string | null;
  epoch: string;
  changed_by: string;
  reason: string;
  changed_at: Date;
}

type Queryable = Pick<Pool, 'query'>;

/** The control row of `target`, or null when the orchestrator never set one. */
export async function getControl(pool: Queryable, target: string): Promise<ControlRow | null> {
  const r = await pool.query<ControlDbRow>('SELECT * FROM cutover_control WHERE target = $1', [target]);
  const row = r.rows[0];
  if (!row) return null;
  return {
    target: row.target,
    mode: {
      persistence: row.persistence,
      primary: row.persistence === 'dual-write' ? row.dual_write_primary : row.persistence,
      failFast: row.fail_fast,
      dualWriteEnabled: row.dual_write_enabled,
      ...(row.mirror_table ? { mirrorTable: row.mirror_table } : {}),
    },
    epoch: Number(row.epoch),
    changedBy: row.changed_by,
    reason: row.reason,
    changedAt: row.changed_at,
  };
}

export interface SetModeInput {
  target: string;
  mode: PersistenceMode;
  /** Who changes it (kept in the row). */
  actor: string;
  reason: string;
}

/**
 * Writes the control row with epoch+1 (1 for a new target) and notifies the instances, in one
 * statement (the notification is delivered at commit). Every call bumps the epoch, even with an
 * unchanged mode: re-applying a mode is harmless and the barrier then proves every instance is
 * still listening.
 */
export async function setMode(pool: Queryable, input: SetModeInput): Promise<{ epoch: number }> {
  const mode = validateMode(input.mode);
  if (typeof input.target !== 'string' || !input.target) throw new InvalidModeError('target', 'target must be a non-empty string (e.g. memory_records)');
  if (typeof input.actor !== 'string' || !input.actor) throw new InvalidModeError('actor', 'actor must be a non-empty string: who changes the mode');
  if (typeof input.reason !== 'string') throw new InvalidModeError('reason', 'reason must be a string');
  const r = await pool.query<{ epoch: string }>(
    `WITH u AS (
       INSERT INTO cutover_control AS c (target, persistence, dual_write_primary, fail_fast, dual_write_enabled, mirror_table, epoch, changed_by, reason, changed_at)
       VALUES ($1, $2, $3, $4, $5, $8, 1, $6, $7, now())
       ON CONFLICT (target) DO UPDATE
          SET persistence = EXCLUDED.persistence, dual_write_primary = EXCLUDED.dual_write_primary,
              fail_fast = EXCLUDED.fail_fast, dual_write_enabled = EXCLUDED.dual_write_enabled, mirror_table = EXCLUDED.mirror_table,
              epoch = c.epoch + 1, changed_by = EXCLUDED.changed_by, reason = EXCLUDED.reason, changed_at = now()
       RETURNING epoch
     )
     SELECT u.epoch::text AS epoch, pg_notify('${CONTROL_CHANNEL}', $1 || ':' || u.epoch) FROM u`,
    [input.target, mode.persistence, mode.primary, mode.failFast, mode.dualWriteEnabled, input.actor, input.reason, mode.mirrorTable ?? null],
  );
  return { epoch: Number(r.rows[0].epoch) };
}

export interface LaggingInstance {
  instanceId: string;
  appliedEpoch: number;
  lastHeartbeat: Date;
}

/** The barrier timed out: `lagging` are the live instances that had not applied the epoch. */
export class BarrierTimeoutError extends Error {
  constructor(
    readonly target: string,
    readonly epoch: number,
    readonly lagging: LaggingInstance[],
    timeoutMs: number,
  ) {
    super(
      `control epoch ${epoch} of ${target} was not acknowledged within ${timeoutMs} ms by ${lagging.length} live instance(s): ` +
        lagging.map((l) => `${l.instanceId} (applied epoch ${l.appliedEpoch}, last heartbeat ${l.lastHeartbeat.toISOString()})`).join(', ') +
        '. Check those instances (logs, connectivity to Postgres); an instance that is down drops out of the barrier once its heartbeat is older than the TTL.',
    );
    this.name = 'BarrierTimeoutError';
  }
}

export interface WaitForEpochInput {
  target: string;
  epoch: number;
  timeoutMs: number;
  heartbeatTtlMs?: number;
  /** How often to look (default 100 ms). */
  pollMs?: number;
}

/** Resolves when every live instance of the target has applied `epoch` (or a later one). */
export async function waitForEpoch(pool: Queryable, input: WaitForEpochInput): Promise<{ acknowledged: string[] }> {
  const deadline = Date.now() + input.timeoutMs;
  const pollMs = input.pollMs ?? 100;
  for (;;) {
    const live = (await listInstances(pool, input.target, { heartbeatTtlMs: input.heartbeatTtlMs })).filter((i) => i.live);
    const lagging = live.filter((i) => i.appliedEpoch < input.epoch);
    if (lagging.length === 0) return { acknowledged: live.map((i) => i.instanceId) };
    if (Date.now() >= deadline) {
      throw new BarrierTimeoutError(
        input.target,
        input.epoch,
        lagging.map((i) => ({ instanceId: i.instanceId, appliedEpoch: i.appliedEpoch, lastHeartbeat: i.lastHeartbeat })),
        input.timeoutMs,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, deadline - Date.now()))));
  }
}

/** setMode, then the barrier for the new epoch. */
export async function setModeAndWait(
  pool: Queryable,
  input: SetModeInput & { timeoutMs: number; heartbeatTtlMs?: number },
): Promise<{ epoch: number; acknowledged: string[] }> {
  const { epoch } = await setMode(pool, input);
  const { acknowledged } = await waitForEpoch(pool, { target: input.target, epoch, timeoutMs: input.timeoutMs, heartbeatTtlMs: input.heartbeatTtlMs });
  return { epoch, acknowledged };
}
