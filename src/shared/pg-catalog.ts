import { escapeIdentifier, type Pool } from 'pg';
import type { PersistenceMode } from '../../workflows/types';
import { sqlState, SQLSTATE } from './pg-errors';

/**
 * Catalog and control-plane lookups, each written once: a relation's kind, the partitions of a
 * table, the run registry (`cutover_runs`) and the live app instances (`cutover_instances`).
 * Used by the activities, the memory layer's control plane and the CLI.
 */
type Queryable = Pick<Pool, 'query'>;

// --- relkind -------------------------------------------------------------------------------

/**
 * A lookup by `to_regclass(name)`, answering `absent` for a name that cannot name a relation:
 * PostgreSQL 16+ returns NULL for a malformed name, 14 and 15 raise invalid_name (42602).
 */
async function byName<T>(lookup: () => Promise<T>, absent: T): Promise<T> {
  try {
    return await lookup();
  } catch (err) {
    if (sqlState(err) === SQLSTATE.invalidName) return absent;
    throw err;
  }
}

/** pg_class.relkind of a relation by name: 'r' heap, 'p' partitioned, 'v' view …; null when absent (or not a name). */
export async function relkind(c: Queryable, name: string): Promise<string | null> {
  return byName(async () => {
    const r = await c.query<{ kind: string | null }>(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS kind`, [name]);
    return r.rows[0]?.kind ?? null;
  }, null);
}

// --- partitions ----------------------------------------------------------------------------

/** One partition of a parent, as the catalog describes it. */
export interface PartitionRow {
  name: string;
  /** The bound as the server prints it (`FOR VALUES FROM (…) TO (…)` or `DEFAULT`). */
  bounds: string;
  isDefault: boolean;
  /** The range bounds' values; null for the default partition. */
  from: string | null;
  to: string | null;
  /** An interrupted DETACH … CONCURRENTLY left it half-detached. */
  detachPending: boolean;
  bytes: number;
  /** `bytes`, pretty-printed by the server. */
  size: string;
  /** pg_class.reltuples (0 when never analysed). */
  estimatedRows: number;
}

/** Every partition of `parent` (none when it is absent, not partitioned or not a name), by name. One catalog query. */
export async function listPartitions(c: Queryable, parent: string): Promise<PartitionRow[]> {
  const rows = await byName(async () => (await c.query<{ name: string; bounds: string; detach_pending: boolean; lo: string | null; hi: string | null; bytes: string; size: string; est: string }>(
    `SELECT child.relname AS name,
            pg_get_expr(child.relpartbound, child.oid) AS bounds,
            i.inhdetachpending AS detach_pending,
            (regexp_match(pg_get_expr(child.relpartbound, child.oid), 'FROM \\(''([^'']+)''\\)'))[1] AS lo,
            (regexp_match(pg_get_expr(child.relpartbound, child.oid), 'TO \\(''([^'']+)''\\)'))[1] AS hi,
            pg_total_relation_size(child.oid)::text AS bytes,
            pg_size_pretty(pg_total_relation_size(child.oid)) AS size,
            greatest(child.reltuples, 0)::bigint::text AS est
       FROM pg_inherits i
       JOIN pg_class child ON child.oid = i.inhrelid
      WHERE i.inhparent = to_regclass($1)
      ORDER BY child.relname`,
    [parent],
  )).rows, []);
  return rows.map((x) => ({
    name: x.name,
    bounds: x.bounds,
    isDefault: x.bounds === 'DEFAULT',
    from: x.lo,
    to: x.hi,
    detachPending: x.detach_pending,
    bytes: Number(x.bytes),
    size: x.size,
    estimatedRows: Number(x.est),
  }));
}

/** Exact row count of one table (a partition by name); a full scan, meant for small ones such as a default partition. */
export async function countRows(c: Queryable, table: string): Promise<number> {
  const r = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${escapeIdentifier(table)}`);
  return Number(r.rows[0].n);
}

// --- run registry (cutover_runs, migrations/003_control_plane.sql) -------------------------

export type RunEndStatus = 'completed' | 'rolled_back' | 'aborted' | 'failed';

/** The active run of a target, as another run sees it when the partial unique index refuses it. */
export interface ActiveRun {
  workflowId: string;
  kind: string;
  startedAt: string;
}

/**
 * Records `runId` as the one active run of `target`. Idempotent (a retry finds its own row).
 * Returns null when registered, or the run that holds the target (Postgres's partial unique
 * index `cutover_runs_one_active_per_target` allows one active run per target).
 */
export async function registerRun(c: Queryable, run: { runId: string; workflowId: string; target: string; kind: string }): Promise<ActiveRun | null> {
  try {
    await c.query(
      `INSERT INTO cutover_runs (run_id, workflow_id, target, kind) VALUES ($1, $2, $3, $4) ON CONFLICT (run_id) DO NOTHING`,
      [run.runId, run.workflowId, run.target, run.kind],
    );
    return null;
  } catch (err) {
    if (sqlState(err) !== SQLSTATE.uniqueViolation) throw err;
    // The other run ended between the INSERT and the SELECT: report it as unknown rather than retry here.
    return (await activeRunOf(c, [run.target], run.runId)) ?? { workflowId: '?', kind: '?', startedAt: '?' };
  }
}

/** The active run registered under any of `targets`, other than `exceptRunId` (a retried preflight finds its own entry). */
export async function activeRunOf(c: Queryable, targets: string[], exceptRunId: string): Promise<ActiveRun | null> {
  const r = await c.query<{ workflow_id: string; kind: string; started_at: string }>(
    `SELECT workflow_id, kind, started_at::text FROM cutover_runs WHERE target = ANY($1::text[]) AND status = 'active' AND run_id <> $2 ORDER BY started_at LIMIT 1`, [targets, exceptRunId]);
  const o = r.rows[0];
  return o ? { workflowId: o.workflow_id, kind: o.kind, startedAt: o.started_at } : null;
}

/**
 * Ends an active run. Ending is one-way: only an `active` row changes, so a retried call (or a
 * late one on another path) never rewrites the status and end time the run first recorded.
 */
export async function finishRun(c: Queryable, runId: string, status: RunEndStatus): Promise<void> {
  await c.query(`UPDATE cutover_runs SET status = $2, ended_at = now() WHERE run_id = $1 AND status = 'active'`, [runId, status]);
}

// --- live instances (cutover_instances; the liveness rule is in src/memory-layer/control-plane.ts) --

/** An instance is live while its last heartbeat is younger than this (by Postgres's clock). */
export const HEARTBEAT_TTL_MS = 10_000;

export interface InstanceInfo {
  instanceId: string;
  target: string;
  adminUrl: string | null;
  appliedEpoch: number;
  appliedMode: PersistenceMode | Record<string, never>;
  startedAt: Date;
  lastHeartbeat: Date;
  stoppedAt: Date | null;
  /** Per the liveness rule, with the TTL given (default HEARTBEAT_TTL_MS). */
  live: boolean;
}

/** Every registered instance of `target` (live or not), oldest first. */
export async function listInstances(pool: Queryable, target: string, opts: { heartbeatTtlMs?: number } = {}): Promise<InstanceInfo[]> {
  const ttl = opts.heartbeatTtlMs ?? HEARTBEAT_TTL_MS;
  const r = await pool.query<{
    instance_id: string;
    target: string;
    admin_url: string | null;
    applied_epoch: string;
    applied_mode: PersistenceMode;
    started_at: Date;
    last_heartbeat: Date;
    stopped_at: Date | null;
    live: boolean;
  }>(
    `SELECT *, (stopped_at IS NULL AND last_heartbeat > now() - make_interval(secs => $2::float8 / 1000)) AS live
       FROM cutover_instances WHERE target = $1 ORDER BY started_at, instance_id`,
    [target, ttl],
  );
  return r.rows.map((x) => ({
    instanceId: x.instance_id,
    target: x.target,
    adminUrl: x.admin_url,
    appliedEpoch: Number(x.applied_epoch),
    appliedMode: x.applied_mode,
    startedAt: x.started_at,
    lastHeartbeat: x.last_heartbeat,
    stoppedAt: x.stopped_at,
    live: x.live,
  }));
}

/** The live instances of `target` (see listInstances). */
export async function liveInstances(pool: Queryable, target: string, opts: { heartbeatTtlMs?: number } = {}): Promise<InstanceInfo[]> {
  return (await listInstances(pool, target, opts)).filter((i) => i.live);
}
