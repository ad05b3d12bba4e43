import type { Pool } from 'pg';
import { DEFAULT_HEARTBEAT_TTL_MS, InvalidModeError } from './control-plane';

/**
 * Membership (orchestrator side; the columns are in migrations/007_instance_membership.sql).
 *
 * The FLEET of a target is every instance registered for it that has not stopped cleanly
 * (stopped_at IS NULL) and that an operator has not declared gone (forgotten_at IS NULL, or it
 * heartbeated again after it was forgotten — it is back). Live or not: an instance that is
 * silent (frozen, cut off, crashed) may still hold acknowledged records in its memory store,
 * so a run may drop it from a barrier (the barrier waits for live instances only) but must not
 * forget it without an operator.
 */
export interface FleetMember {
  instanceId: string;
  adminUrl: string | null;
  appliedEpoch: number;
  /** ISO timestamps (activity results travel as JSON). */
  lastHeartbeat: string;
  startedAt: string;
  /** Heartbeat within the TTL (the liveness rule of control-plane.ts). */
  live: boolean;
}

type Queryable = Pick<Pool, 'query'>;

interface MemberRow {
  instance_id: string;
  admin_url: string | null;
  applied_epoch: string;
  last_heartbeat: Date;
  started_at: Date;
  live: boolean;
}

const IN_FLEET = `stopped_at IS NULL AND (forgotten_at IS NULL OR last_heartbeat > forgotten_at)`;

function member(x: MemberRow): FleetMember {
  return {
    instanceId: x.instance_id,
    adminUrl: x.admin_url,
    appliedEpoch: Number(x.applied_epoch),
    lastHeartbeat: x.last_heartbeat.toISOString(),
    startedAt: x.started_at.toISOString(),
    live: x.live,
  };
}

/** The fleet of `target`, by instance id. */
export async function listFleet(pool: Queryable, target: string, opts: { heartbeatTtlMs?: number } = {}): Promise<FleetMember[]> {
  const r = await pool.query<MemberRow>(
    `SELECT instance_id, admin_url, applied_epoch, last_heartbeat, started_at,
            last_heartbeat > now() - make_interval(secs => $2::float8 / 1000) AS live
       FROM cutover_instances WHERE target = $1 AND ${IN_FLEET} ORDER BY instance_id`,
    [target, opts.heartbeatTtlMs ?? DEFAULT_HEARTBEAT_TTL_MS],
  );
  return r.rows.map(member);
}

/** Fleet members that have not applied `epoch` (or a later one). */
export async function laggingMembers(pool: Queryable, target: string, epoch: number, opts: { heartbeatTtlMs?: number } = {}): Promise<FleetMember[]> {
  return (await listFleet(pool, target, opts)).filter((m) => m.appliedEpoch < epoch);
}

export interface ForgetInput {
  target: string;
  instanceId: string;
  /** Who declares it gone (recorded in the row). */
  operator: string;
  reason: string;
  heartbeatTtlMs?: number;
}

export interface ForgetResult {
  instanceId: string;
  forgottenAt: string;
  forgottenBy: string;
  reason: string;
  /** What it had applied and when it was last heard of, when it was forgotten. */
  appliedEpoch: number;
  lastHeartbeat: string;
  /** True when an earlier call had already forgotten it (the call is idempotent). */
  already: boolean;
}

/** Refused: the instance is unknown for the target, stopped cleanly, or live. */
export class ForgetRefusedError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ForgetRefusedError';
  }
}

/**
 * Declares an instance gone: it leaves the fleet (barriers and the final cutover stop waiting
 * for it) and whatever only its memory store held is given up. Refused for a live instance —
 * stop it or cut it off first; a forgotten instance that heartbeats again is back in the fleet.
 */
export async function forgetInstance(pool: Queryable, input: ForgetInput): Promise<ForgetResult> {
  for (const f of ['target', 'instanceId', 'operator', 'reason'] as const) {
    const v = input[f];
    if (typeof v !== 'string' || v.trim() === '') throw new InvalidModeError(f, `${f} must be a non-empty string`);
    if (v.length > 500) throw new InvalidModeError(f, `${f} is at most 500 characters`);
  }
  const ttl = input.heartbeatTtlMs ?? DEFAULT_HEARTBEAT_TTL_MS;
  const r = await pool.query<{
    applied_epoch: string;
    last_heartbeat: Date;
    stopped_at: Date | null;
    forgotten_at: Date | null;
    forgotten_by: string | null;
    forgotten_reason: string | null;
    live: boolean;
    back: boolean;
  }>(
    `SELECT applied_epoch, last_heartbeat, stopped_at, forgotten_at, forgotten_by, forgotten_reason,
            last_heartbeat > now() - make_interval(secs => $3::float8 / 1000) AS live,
            (forgotten_at IS NULL OR last_heartbeat > forgotten_at) AS back
       FROM cutover_instances WHERE instance_id = $1 AND target = $2`,
    [input.instanceId, input.target, ttl],
  );
  const row = r.rows[0];
  if (!row) throw new ForgetRefusedError('instanceId', `no instance ${input.instanceId} is registered for ${input.target}`);
  if (row.stopped_at) throw new ForgetRefusedError('instanceId', `instance ${input.instanceId} stopped cleanly at ${row.stopped_at.toISOString()}: it is not in the fleet, nothing to forget`);
  const base = { instanceId: input.instanceId, appliedEpoch: Number(row.applied_epoch), lastHeartbeat: row.last_heartbeat.toISOString() };
  if (!row.back && row.forgotten_at) {
    return { ...base, forgottenAt: row.forgotten_at.toISOString(), forgottenBy: row.forgotten_by ?? '', reason: row.forgotten_reason ?? '', already: true };
  }
  if (row.live) {
    throw new ForgetRefusedError(
      'instanceId',
      `instance ${input.instanceId} is live (last heartbeat ${base.lastHeartbeat}, within the ${ttl} ms TTL): a live instance cannot be forgotten; stop it (SIGTERM) or wait until it is silent`,
    );
  }
  const u = await pool.query<{ forgotten_at: Date }>(
    `UPDATE cutover_instances SET forgotten_at = now(), forgotten_by = $3, forgotten_reason = $4
      WHERE instance_id = $1 AND target = $2 AND stopped_at IS NULL
        AND last_heartbeat <= now() - make_interval(secs => $5::float8 / 1000)
      RETURNING forgotten_at`,
    [input.instanceId, input.target, input.operator, input.reason, ttl],
  );
  if (!u.rows[0]) throw new ForgetRefusedError('instanceId', `instance ${input.instanceId} changed while it was being forgotten (it heartbeated or stopped); look again`);
  return { ...base, forgottenAt: u.rows[0].forgotten_at.toISOString(), forgottenBy: input.operator, reason: input.reason, already: false };
}
