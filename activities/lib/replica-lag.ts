import type { ClientBase } from 'pg';

/** A pool or one client: the sample is one statement outside any transaction. */
export type LagReader = Pick<ClientBase, 'query'>;

/**
 * Limits the work may push onto the database's other consumers (issue 17): the largest standby
 * replay lag in `pg_stat_replication` and the largest WAL retained by a replication slot. 0 or
 * absent: that limit is off. The throttle of Spirit (cashapp/spirit pkg/throttler), for Postgres:
 * above a limit the work pauses and says why; when the lag cannot be measured it fails closed
 * (pauses) rather than copy blind.
 */
export interface ReplicaLagLimits {
  /** Largest replay lag of any streaming standby, milliseconds. */
  maxReplicaLagMs?: number;
  /** Largest WAL any replication slot retains (pg_current_wal_lsn − restart_lsn), bytes. */
  maxSlotRetainedWalBytes?: number;
}

export interface ReplicaLagSample {
  standbys: number;
  /** Largest replay lag, ms (0 when every standby has replayed everything). */
  replayLagMs: number;
  /** Largest WAL not yet replayed by a standby, bytes. */
  replayLagBytes: number;
  /** Largest WAL retained by a slot, bytes. */
  slotRetainedBytes: number;
}

export function lagLimitsOn(l: ReplicaLagLimits | undefined): boolean {
  return !!l && ((l.maxReplicaLagMs ?? 0) > 0 || (l.maxSlotRetainedWalBytes ?? 0) > 0);
}

export class LagUnmeasurable extends Error {}

const SAMPLE_SQL = `
  SELECT (SELECT count(*) FROM pg_stat_replication)::int AS standbys,
         (SELECT count(*) FROM pg_stat_replication WHERE state IS NULL)::int AS hidden,
         (SELECT coalesce(max(extract(epoch FROM replay_lag) * 1000), 0) FROM pg_stat_replication)::float8 AS replay_lag_ms,
         (SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0) FROM pg_stat_replication WHERE replay_lsn IS NOT NULL)::float8 AS replay_bytes,
         (SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)), 0) FROM pg_replication_slots WHERE restart_lsn IS NOT NULL)::float8 AS slot_bytes,
         pg_is_in_recovery() AS in_recovery`;

/** One sample; throws LagUnmeasurable when this connection cannot see what it must measure. */
export async function sampleReplicaLag(pool: LagReader): Promise<ReplicaLagSample> {
  let row: { standbys: number; hidden: number; replay_lag_ms: number; replay_bytes: number; slot_bytes: number; in_recovery: boolean };
  try {
    row = (await pool.query<typeof row>(SAMPLE_SQL)).rows[0];
  } catch (err) {
    throw new LagUnmeasurable(`replica lag unmeasurable: ${(err as Error).message}`);
  }
  if (row.in_recovery) throw new LagUnmeasurable('replica lag unmeasurable: the profile points at a standby (pg_is_in_recovery), not the primary');
  if (row.hidden > 0) {
    throw new LagUnmeasurable(`replica lag unmeasurable: ${row.hidden} standby(s) are hidden from this role (grant it pg_read_all_stats, or pg_monitor)`);
  }
  // A paused or slow standby that has not replayed a byte for a while: replay_lag grows with
  // the age of the oldest unreplayed WAL; an idle, caught-up standby reports NULL (0 here).
  return { standbys: row.standbys, replayLagMs: Math.round(row.replay_lag_ms), replayLagBytes: row.replay_bytes, slotRetainedBytes: row.slot_bytes };
}

/** Why the work must pause (null: it may go on). */
export function lagVerdict(s: ReplicaLagSample, l: ReplicaLagLimits): string | null {
  const why: string[] = [];
  if ((l.maxReplicaLagMs ?? 0) > 0 && s.replayLagMs > l.maxReplicaLagMs!) why.push(`standby replay lag ${s.replayLagMs} ms > maxReplicaLagMs ${l.maxReplicaLagMs}`);
  if ((l.maxSlotRetainedWalBytes ?? 0) > 0 && s.slotRetainedBytes > l.maxSlotRetainedWalBytes!) {
    why.push(`replication slot retains ${s.slotRetainedBytes} B of WAL > maxSlotRetainedWalBytes ${l.maxSlotRetainedWalBytes}`);
  }
  return why.length ? why.join('; ') : null;
}

/** Checks the input fields: non-negative integers (0 = off); names the field otherwise. */
export function checkLagLimits(l: ReplicaLagLimits | undefined, where: string): void {
  for (const f of ['maxReplicaLagMs', 'maxSlotRetainedWalBytes'] as const) {
    const v = l?.[f];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new Error(`${where}.${f} must be a non-negative integer (0 = no limit), got ${JSON.stringify(v)}`);
  }
}

/** Why the work must pause now (null: it may go on); fails closed while the lag cannot be measured. */
export async function lagPauseReason(pool: LagReader, limits: ReplicaLagLimits): Promise<string | null> {
  try {
    return lagVerdict(await sampleReplicaLag(pool), limits);
  } catch (err) {
    if (!(err instanceof LagUnmeasurable)) throw err;
    return `${err.message} (failing closed: paused until it can be measured)`;
  }
}

/**
 * Waits until the lag is under the limits. While above them (or unmeasurable: fail closed) it
 * calls `report(reason)` every `everyMs` (the caller heartbeats it, so it shows in the pending
 * activity's details) and sleeps with `sleep` (cancellable). Returns the ms paused.
 */
export async function waitForReplicas(pool: LagReader, limits: ReplicaLagLimits | undefined, sleep: (ms: number) => Promise<void>, report: (reason: string | null) => void, everyMs = 1000): Promise<number> {
  if (!lagLimitsOn(limits)) return 0;
  const t0 = Date.now();
  let paused = false;
  for (;;) {
    const why = await lagPauseReason(pool, limits!);
    if (!why) {
      if (paused) report(null);
      return paused ? Date.now() - t0 : 0;
    }
    paused = true;
    report(`paused: ${why}`);
    await sleep(everyMs);
  }
}
