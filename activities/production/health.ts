import { Context } from '@temporalio/activity';
import { escapeIdentifier } from 'pg';
import type { ActivityDeps } from '../index';
import { countRows, listPartitions } from '../../src/shared/pg-catalog';
import { adminClient, type AppsSpec } from './instances';
import type { InstanceRef } from '../lib/admin-client';
import { histogramBuckets, parsePrometheus, quantileBetween, sumOf } from '../lib/prom';
import { DUAL_WRITE_FAILURES_METRIC, WRITE_LATENCY_METRIC } from '../lib/throttle';
import { lookAgain } from './verify';

/** Cumulative metrics of every instance at one moment (serialisable: it travels through history). */
export interface MetricsSnapshot {
  instances: { instanceId: string; buckets: [number | 'inf', number][]; failures: number }[];
}

export interface HealthThresholds {
  maxDualWriteFailures: number;
  maxLatencyRatio: number;
  latencyFloorMs: number;
  paritySample: number;
}

export interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface HealthReport {
  verdict: 'healthy' | 'unhealthy' | 'data-loss';
  reasons: string[];
  failuresDelta: number;
  /** Instances whose counters were reset (restarted) since the previous check: their deltas are from the restart on. */
  countersReset?: string[];
  p99Ms: number | null;
  baselineP99Ms: number | null;
  writes: number;
  partitions: { current: string; next: string; created: string[] };
  invalidIndexes: string[];
  parity: { checked: number; drift: number; inFlight: number; samples: string[] };
  snapshot: MetricsSnapshot;
}

const toBuckets = (m: Map<number, number>): [number | 'inf', number][] => [...m.entries()].map(([le, c]) => [le === Infinity ? 'inf' : le, c]);
const fromBuckets = (b: [number | 'inf', number][]): Map<number, number> => new Map(b.map(([le, c]) => [le === 'inf' ? Infinity : le, c]));

async function snapshot(deps: ActivityDeps, apps: Pick<AppsSpec, 'adminTokenRef'>, instances: InstanceRef[]): Promise<MetricsSnapshot> {
  const out: MetricsSnapshot = { instances: [] };
  for (const i of instances) {
    const s = parsePrometheus(await adminClient(deps, apps, i).metricsText());
    out.instances.push({ instanceId: i.instanceId, buckets: toBuckets(histogramBuckets(s, WRITE_LATENCY_METRIC)), failures: sumOf(s, DUAL_WRITE_FAILURES_METRIC) });
  }
  return out;
}

/**
 * Write p99 (ms) and failure increase across all instances between two snapshots, computed per
 * instance and then added up. An instance whose counters went down restarted (a counter reset):
 * what happened between the previous snapshot and its restart is unknown, so it is named in
 * `countersReset` and only what it counted since the restart is taken (Prometheus' increase()
 * rule) — never a negative delta that would hide another instance's failures. An instance
 * absent from the previous snapshot counts from zero too.
 */
export function compare(prev: MetricsSnapshot, cur: MetricsSnapshot): { p99Ms: number | null; failuresDelta: number; writes: number; countersReset: string[] } {
  const merged = new Map<number, number>();
  let failuresDelta = 0;
  const countersReset: string[] = [];
  for (const c of cur.instances) {
    const p = prev.instances.find((x) => x.instanceId === c.instanceId);
    const now = fromBuckets(c.buckets);
    const then = p ? fromBuckets(p.buckets) : new Map<number, number>();
    const reset = !!p && (c.failures < p.failures || [...then].some(([le, n]) => (now.get(le) ?? 0) < n));
    if (reset) countersReset.push(c.instanceId);
    failuresDelta += reset || !p ? c.failures : c.failures - p.failures;
    for (const [le, n] of now) merged.set(le, (merged.get(le) ?? 0) + (reset ? n : n - (then.get(le) ?? 0)));
  }
  const q = quantileBetween(new Map(), merged, 0.99);
  return { p99Ms: q.value === undefined ? null : q.value === Infinity ? Number.MAX_SAFE_INTEGER : q.value * 1000, failuresDelta, writes: q.count, countersReset };
}

async function ensureCurrentPartitions(deps: ActivityDeps, profile: string, parent: string): Promise<HealthReport['partitions']> {
  const pool = deps.profiles.pool(profile);
  const r = await pool.query<{ cur_before: string | null; next_before: string | null }>(
    `SELECT to_regclass('memory_records_' || to_char(now(), 'YYYY_MM'))::text AS cur_before,
            to_regclass('memory_records_' || to_char(now() + interval '1 month', 'YYYY_MM'))::text AS next_before`,
  );
  const made = await pool.query<{ cur: string; next: string }>(
    `SELECT create_monthly_partition(now()::date, $1) AS cur, create_monthly_partition((now() + interval '1 month')::date, $1) AS next`,
    [parent],
  );
  const created: string[] = [];
  if (!r.rows[0].cur_before) created.push(made.rows[0].cur);
  if (!r.rows[0].next_before) created.push(made.rows[0].next);
  return { current: made.rows[0].cur, next: made.rows[0].next, created };
}

async function invalidIndexes(deps: ActivityDeps, profile: string, parent: string): Promise<string[]> {
  const r = await deps.profiles.pool(profile).query<{ name: string }>(
    `SELECT i.indexrelid::regclass::text AS name
       FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
      WHERE NOT (i.indisvalid AND i.indisready)
        AND (t.oid = to_regclass($1) OR t.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass($1)))`,
    [parent],
  );
  return r.rows.map((x) => x.name);
}

export function createHealthActivities(deps: ActivityDeps) {
  return {
    /** The instances' cumulative write-latency histograms and dual-write failure counters. */
    async metricsSnapshot(input: { apps: Pick<AppsSpec, 'adminTokenRef'>; instances: InstanceRef[] }): Promise<MetricsSnapshot> {
      return snapshot(deps, input.apps, input.instances);
    },

    /** Write p99 (ms) between a snapshot and now: the pre-switch baseline. */
    async latencySince(input: { apps: Pick<AppsSpec, 'adminTokenRef'>; instances: InstanceRef[]; since: MetricsSnapshot }): Promise<{ p99Ms: number | null; writes: number; snapshot: MetricsSnapshot }> {
      const cur = await snapshot(deps, input.apps, input.instances);
      const c = compare(input.since, cur);
      return { p99Ms: c.p99Ms, writes: c.writes, snapshot: cur };
    },

    /**
     * One health check of the monitoring window: dual_write_failures_total delta, write p99
     * against the pre-switch baseline, partitions for this and next month (created if
     * missing), index health, and a sampled parity of recent writes between the stores.
     */
    async healthCheck(input: {
      connectionProfile: string;
      table: string;
      apps: Pick<AppsSpec, 'adminTokenRef'>;
      instances: InstanceRef[];
      previous: MetricsSnapshot;
      baselineP99Ms: number | null;
      thresholds: HealthThresholds;
      graceMs?: number;
    }): Promise<HealthReport> {
      const ctx = Context.current();
      const cur = await snapshot(deps, input.apps, input.instances);
      const c = compare(input.previous, cur);
      const reasons: string[] = [];
      let verdict: HealthReport['verdict'] = 'healthy';
      if (c.countersReset.length) reasons.push(`counters of ${c.countersReset.join(', ')} were reset (restarted): counted from the restart`);
      if (c.failuresDelta > input.thresholds.maxDualWriteFailures) {
        verdict = 'unhealthy';
        reasons.push(`dual_write_failures_total rose by ${c.failuresDelta} (allowed ${input.thresholds.maxDualWriteFailures})`);
      }
      if (c.p99Ms !== null && c.p99Ms > input.thresholds.latencyFloorMs && input.baselineP99Ms !== null) {
        const ratio = c.p99Ms / Math.max(input.baselineP99Ms, input.thresholds.latencyFloorMs);
        if (ratio > input.thresholds.maxLatencyRatio) {
          verdict = 'unhealthy';
          reasons.push(`write p99 ${c.p99Ms.toFixed(0)} ms is ${ratio.toFixed(1)}× the pre-switch baseline ${input.baselineP99Ms.toFixed(0)} ms (allowed ${input.thresholds.maxLatencyRatio}×)`);
        }
      }
      ctx.heartbeat('metrics');
      const partitions = await ensureCurrentPartitions(deps, input.connectionProfile, input.table);
      if (partitions.created.length) reasons.push(`created missing partitions ${partitions.created.join(', ')}`);
      const bad = await invalidIndexes(deps, input.connectionProfile, input.table);
      if (bad.length) {
        verdict = 'unhealthy';
        reasons.push(`invalid indexes: ${bad.join(', ')} (REINDEX TABLE CONCURRENTLY ${input.table})`);
      }
      const parity = await sampledParity(deps, input, ctx);
      if (parity.drift > 0) {
        verdict = 'data-loss';
        reasons.push(`sampled parity: ${parity.drift} of ${parity.checked} recent writes differ between the stores (${parity.samples.slice(0, 3).join(', ')})`);
      }
      return {
        verdict,
        reasons,
        failuresDelta: c.failuresDelta,
        countersReset: c.countersReset,
        p99Ms: c.p99Ms,
        baselineP99Ms: input.baselineP99Ms,
        writes: c.writes,
        partitions,
        invalidIndexes: bad,
        parity,
        snapshot: cur,
      };
    },

    /**
     * The runbook's investigation after a rollback ("Investigate Postgres issues"): partition
     * for the current date, default-partition rows, index health. Each finding with its fix.
     */
    async investigate(input: { connectionProfile: string; table: string }): Promise<Finding[]> {
      const pool = deps.profiles.pool(input.connectionProfile);
      const findings: Finding[] = [];
      const cur = await pool.query<{ p: string | null }>(`SELECT to_regclass('memory_records_' || to_char(now(), 'YYYY_MM'))::text AS p`);
      findings.push(cur.rows[0].p
        ? { check: 'partition for the current date', ok: true, detail: cur.rows[0].p }
        : { check: 'partition for the current date', ok: false, detail: 'missing', fix: 'SELECT create_monthly_partition(NOW());' });
      for (const d of (await listPartitions(pool, input.table)).filter((p) => p.isDefault)) {
        const n = await countRows(pool, d.name);
        findings.push({ check: 'default partition', ok: n === 0, detail: `${d.name} holds ${n} rows`, fix: n ? 'create the months\' partitions and move the rows out of the default partition' : undefined });
      }
      const bad = await invalidIndexes(deps, input.connectionProfile, input.table);
      findings.push(bad.length
        ? { check: 'index health', ok: false, detail: `invalid: ${bad.join(', ')}`, fix: `REINDEX TABLE CONCURRENTLY ${input.table};` }
        : { check: 'index health', ok: true, detail: 'all indexes valid' });
      const usage = await pool.query<{ indexrelname: string; idx_scan: string }>(
        `SELECT indexrelname, idx_scan::text FROM pg_stat_user_indexes WHERE relname LIKE 'memory_records%' ORDER BY idx_scan DESC LIMIT 10`,
      );
      findings.push({ check: 'index usage (pg_stat_user_indexes)', ok: true, detail: usage.rows.map((u) => `${u.indexrelname}:${u.idx_scan}`).join(', ') || 'no statistics yet' });
      return findings;
    },
  };
}

/**
 * Recent writes compared between the stores: the newest rows of Postgres and the newest
 * records of each memory store, looked up on the other side. Differences newer than the grace
 * period may be in flight and are not counted.
 */
async function sampledParity(
  deps: ActivityDeps,
  input: { connectionProfile: string; table: string; apps: Pick<AppsSpec, 'adminTokenRef'>; instances: InstanceRef[]; thresholds: HealthThresholds; graceMs?: number },
  ctx: Context,
): Promise<HealthReport['parity']> {
  const n = input.thresholds.paritySample;
  const out = { checked: 0, drift: 0, inFlight: 0, samples: [] as string[] };
  if (n === 0) return out;
  const pool = deps.profiles.pool(input.connectionProfile);
  const table = escapeIdentifier(input.table);
  const recent = await pool.query<{ id: string; updated_at: Date }>(
    `SELECT id::text AS id, updated_at FROM ${table} WHERE created_at > now() - interval '2 hours' ORDER BY created_at DESC LIMIT $1`,
    [n],
  );
  const pgVersions = new Map(recent.rows.map((r) => [r.id, r.updated_at.getTime()]));
  const memVersions = new Map<string, number>();
  /** Recent Postgres rows a memory store remembers deleting. */
  const deletedInMemory = new Set<string>();
  const per = Math.max(1, Math.ceil(n / input.instances.length));
  const from = new Date(Date.now() - 2 * 3600_000).toISOString();
  for (const i of input.instances) {
    const c = adminClient(deps, input.apps, i);
    const found = await c.lookup([...pgVersions.keys()]);
    for (const r of found.records) memVersions.set(r.id, r.updatedAt.getTime());
    for (const id of found.deleted) deletedInMemory.add(id);
    // The memory side's own newest records of the last two hours (recent losses are the likeliest).
    const newest = await c.newest({ limit: per, from, to: new Date(Date.now() + 60_000).toISOString() });
    for (const r of newest) memVersions.set(r.id, Math.max(memVersions.get(r.id) ?? 0, r.updatedAt.getTime()));
    ctx.heartbeat(i.instanceId);
  }
  const memOnly = [...memVersions.keys()].filter((id) => !pgVersions.has(id));
  if (memOnly.length) {
    const r = await pool.query<{ id: string; updated_at: Date }>(`SELECT id::text AS id, updated_at FROM ${table} WHERE id = ANY($1::uuid[])`, [memOnly]);
    for (const row of r.rows) pgVersions.set(row.id, row.updated_at.getTime());
  }
  // Suspects: memory acknowledged a version Postgres lacks, or a delete Postgres did not get
  // (the row would come back once Postgres is the only store). Look again after a pause: a
  // write in flight has landed by then; a difference that stands still on both sides is a loss.
  const suspects = [...memVersions.entries()].filter(([id, m]) => (pgVersions.get(id) ?? -1) < m);
  out.checked = memVersions.size + deletedInMemory.size;
  if (suspects.length === 0 && deletedInMemory.size === 0) return out;
  await ctx.sleep(input.graceMs ?? 2000);
  const clients = input.instances.map((i) => adminClient(deps, input.apps, i));
  const again = await lookAgain(deps, { connectionProfile: input.connectionProfile, table: input.table }, clients, [...suspects.map(([id]) => id), ...deletedInMemory]);
  for (const id of deletedInMemory) {
    if (!again.pg.has(id) || !again.memDeleted.has(id)) continue; // the delete reached Postgres since
    out.drift++;
    if (out.samples.length < 10) out.samples.push(`${id} (deleted)`);
  }
  for (const [id, m] of suspects) {
    const m2 = again.mem.get(id);
    const p2 = again.pg.get(id);
    // Deleted in Postgres (the primary) and not yet in memory, or settled since: not a loss.
    if (!m2 || again.tombstoned.has(id) || (p2 !== undefined && p2 >= m2.updatedAt.getTime())) continue;
    if (m2.updatedAt.getTime() !== m) {
      out.inFlight++;
      continue;
    }
    out.drift++;
    if (out.samples.length < 10) out.samples.push(id);
  }
  return out;
}
