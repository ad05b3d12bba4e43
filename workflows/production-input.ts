import { IDENTIFIER, InputError, Reader } from './common/validate';
import { parseHistoryBudget, readContinued, type HistoryBudget } from './common/history-budget';
import { PRODUCTION_STAGES } from './production/stages';
import type { ProductionContinuation } from './production/continuation-state';

/**
 * The input of `productionCutover`: one JSON object (the Temporal UI's Start Workflow form).
 * Every field is optional except where noted; defaults are those a careful operator would pick.
 * No secrets: `connectionProfile` and `apps.adminTokenRef` are names the worker resolves.
 */
export interface ProductionCutoverInput {
  /** Table to migrate. Default "memory_records" (the only table the service has). */
  target?: string;
  /** Connection profile the worker resolves to credentials. Default "default". */
  connectionProfile?: string;
  apps?: {
    /** "control-plane" (default): every live instance registered in cutover_instances. */
    discovery?: 'control-plane' | 'static';
    /** With discovery "static": the instances' admin base URLs. */
    endpoints?: { instanceId: string; adminUrl: string }[];
    /** Reference of the admin token (worker: LICHEN_ADMIN_TOKEN_<REF>). Default "default". */
    adminTokenRef?: string;
  };
  backfill?: {
    /** Rows per export page and per upsert statement. Default 2000 (10–20000). */
    batchSize?: number;
    /** Work units (instance × month) copied at once. Default 2 (1–16). */
    parallelism?: number;
    /** Upper bound on rows/s across the run; 0 = unbounded. Default 0. */
    maxRowsPerSecond?: number;
    /** Rows one activity call copies before it reports progress. Default 50000. */
    chunkRows?: number;
    /** Slow down when the app's write p99 exceeds this (ms). Default 250. */
    throttleWriteP99Ms?: number;
    /** Pause while any streaming standby's replay lag exceeds this (ms); 0 = off. Default 0. */
    maxReplicaLagMs?: number;
    /** Pause while any replication slot retains more WAL than this (bytes); 0 = off. Default 0. */
    maxSlotRetainedWalBytes?: number;
  };
  verify?: {
    /** Repair-and-re-verify rounds before the run gives up and rolls back. Default 3 (0–10). */
    maxRepairRounds?: number;
  };
  monitoring?: {
    /** Monitoring window. Default 1440 (24 h); 1440–2880 unless nonProduction (then ≥ 0.05). */
    windowMinutes?: number;
    /** Minutes between health checks. Default 5 (1–60). */
    healthCheckEveryMinutes?: number;
  };
  health?: {
    /** dual_write_failures_total increase tolerated per check. Default 0. */
    maxDualWriteFailures?: number;
    /** Write p99 may reach this multiple of the pre-switch baseline. Default 3. */
    maxLatencyRatio?: number;
    /** Ratios below this p99 (ms) are not judged (noise). Default 50. */
    latencyFloorMs?: number;
    /** Recent writes compared between stores per check. Default 200 (0–5000). */
    paritySample?: number;
    /** Consecutive unhealthy checks that trigger the rollback (one spike is noise). Default 2 (1–10). */
    unhealthyChecks?: number;
  };
  approvals?: {
    beforeBackfill?: boolean; // default false
    beforeSwitchPrimary?: boolean; // default true
    beforeFinalCutover?: boolean; // default true
  };
  /** Seconds a mode change waits for every live instance. Default 60 (5–900). */
  barrierTimeoutSeconds?: number;
  /** Marks a test or staging run: allows monitoring windows shorter than 24 h. */
  nonProduction?: boolean;
  /** The runbook's BACKFILL_DRY_RUN: plan and count, change nothing. */
  dryRun?: boolean;
  /**
   * Each run's history budget: past it the run continues as new at the next safe point
   * (workflows/common/continuation.ts). Defaults 10000 events (100–40000) and 10485760 bytes
   * (256 KiB–40 MiB); Temporal's own limits are 51,200 events and 50 MB.
   */
  history?: { maxEvents?: number; maxBytes?: number };
  /** Written by the workflow itself when it continues as new (the state it carries); never set it. */
  continued?: ProductionContinuation;
}

export interface ProductionSettings {
  target: string;
  connectionProfile: string;
  apps: { discovery: 'control-plane' | 'static'; endpoints: { instanceId: string; adminUrl: string }[]; adminTokenRef: string };
  backfill: { batchSize: number; parallelism: number; maxRowsPerSecond: number; chunkRows: number; throttleWriteP99Ms: number; maxReplicaLagMs: number; maxSlotRetainedWalBytes: number };
  verify: { maxRepairRounds: number };
  monitoring: { windowMinutes: number; healthCheckEveryMinutes: number };
  health: { maxDualWriteFailures: number; maxLatencyRatio: number; latencyFloorMs: number; paritySample: number; unhealthyChecks: number };
  approvals: { beforeBackfill: boolean; beforeSwitchPrimary: boolean; beforeFinalCutover: boolean };
  barrierTimeoutSeconds: number;
  nonProduction: boolean;
  dryRun: boolean;
  history: HistoryBudget;
  continued?: ProductionContinuation;
}

export const SUPPORTED_TARGETS = ['memory_records'] as const;
const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Validates and fills defaults. Throws InputError naming the field. Deterministic. */
export function parseProductionInput(input: unknown): ProductionSettings {
  const r = Reader.root(input === undefined ? {} : input, 'input').only([
    'target', 'connectionProfile', 'apps', 'backfill', 'verify', 'monitoring', 'health', 'approvals',
    'barrierTimeoutSeconds', 'nonProduction', 'dryRun', 'history', 'continued',
  ]);
  const target = r.string('target', { default: 'memory_records', pattern: IDENTIFIER, allowed: `a table name: ${SUPPORTED_TARGETS.join(', ')}` });
  if (!(SUPPORTED_TARGETS as readonly string[]).includes(target)) throw new InputError('target', `unknown target; supported: ${SUPPORTED_TARGETS.join(', ')}`);
  const connectionProfile = r.string('connectionProfile', { default: 'default', pattern: NAME, allowed: 'a connection profile name ([a-z][a-z0-9_-]*), resolved by the worker; never a URL or password' });
  const nonProduction = r.bool('nonProduction', false);

  const a = r.object('apps')?.only(['discovery', 'endpoints', 'adminTokenRef']);
  const discovery = a?.enumOf('discovery', ['control-plane', 'static'] as const, 'control-plane') ?? 'control-plane';
  const endpoints = (a?.array('endpoints', { max: 64, min: 1 }) ?? []).map((e) => {
    e.only(['instanceId', 'adminUrl']);
    const adminUrl = e.string('adminUrl', { pattern: /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/, allowed: 'an http(s) URL of the instance, such as "http://10.0.0.5:8080"', max: 300 });
    return { instanceId: e.string('instanceId', { pattern: INSTANCE_ID, allowed: 'an instance id of letters, digits and ._:-' }), adminUrl };
  });
  if (discovery === 'static' && endpoints.length === 0) throw new InputError('apps.endpoints', 'required with discovery "static": at least one {instanceId, adminUrl}');
  if (discovery === 'control-plane' && endpoints.length > 0) throw new InputError('apps.endpoints', 'only with discovery "static"; with "control-plane" the instances are found in cutover_instances');
  const adminTokenRef = a?.string('adminTokenRef', { default: 'default', pattern: NAME, allowed: 'a token reference name ([a-z][a-z0-9_-]*), resolved by the worker; never the token' }) ?? 'default';

  const b = r.object('backfill')?.only(['batchSize', 'parallelism', 'maxRowsPerSecond', 'chunkRows', 'throttleWriteP99Ms', 'maxReplicaLagMs', 'maxSlotRetainedWalBytes']);
  const batchSize = b?.int('batchSize', { default: 2000, min: 10, max: 20000 }) ?? 2000;
  const backfill = {
    batchSize,
    parallelism: b?.int('parallelism', { default: 2, min: 1, max: 16 }) ?? 2,
    maxRowsPerSecond: b?.int('maxRowsPerSecond', { default: 0, min: 0, max: 10_000_000 }) ?? 0,
    chunkRows: b?.int('chunkRows', { default: 50000, min: batchSize, max: 10_000_000 }) ?? 50000,
    throttleWriteP99Ms: b?.int('throttleWriteP99Ms', { default: 250, min: 1, max: 60_000 }) ?? 250,
    // The replica-lag throttle (activities/lib/replica-lag.ts): 0 = off; it fails closed when on.
    maxReplicaLagMs: b?.int('maxReplicaLagMs', { default: 0, min: 0, max: 86_400_000 }) ?? 0,
    maxSlotRetainedWalBytes: b?.int('maxSlotRetainedWalBytes', { default: 0, min: 0, max: Number.MAX_SAFE_INTEGER }) ?? 0,
  };

  const v = r.object('verify')?.only(['maxRepairRounds']);
  const verify = { maxRepairRounds: v?.int('maxRepairRounds', { default: 3, min: 0, max: 10 }) ?? 3 };

  const m = r.object('monitoring')?.only(['windowMinutes', 'healthCheckEveryMinutes']);
  // Non-production runs (tests, staging) may use fractions of a minute.
  const windowMinutes = nonProduction
    ? (m?.num('windowMinutes', { default: 1440, min: 0.05, max: 2880 }) ?? 1440)
    : (m?.int('windowMinutes', { default: 1440, min: 1440, max: 2880 }) ?? 1440);
  if (!nonProduction && (windowMinutes < 1440 || windowMinutes > 2880)) {
    throw new InputError('monitoring.windowMinutes', 'must be 1440–2880 (the runbook\'s 24–48 h); shorter only with "nonProduction": true');
  }
  const healthCheckEveryMinutes = nonProduction
    ? (m?.num('healthCheckEveryMinutes', { default: Math.min(5, windowMinutes), min: 0.05, max: 60 }) ?? Math.min(5, windowMinutes))
    : (m?.int('healthCheckEveryMinutes', { default: 5, min: 1, max: 60 }) ?? 5);

  const h = r.object('health')?.only(['maxDualWriteFailures', 'maxLatencyRatio', 'latencyFloorMs', 'paritySample', 'unhealthyChecks']);
  const health = {
    maxDualWriteFailures: h?.int('maxDualWriteFailures', { default: 0, min: 0, max: 1_000_000 }) ?? 0,
    maxLatencyRatio: h?.num('maxLatencyRatio', { default: 3, min: 1, max: 100 }) ?? 3,
    latencyFloorMs: h?.num('latencyFloorMs', { default: 50, min: 0, max: 60_000 }) ?? 50,
    paritySample: h?.int('paritySample', { default: 200, min: 0, max: 5000 }) ?? 200,
    unhealthyChecks: h?.int('unhealthyChecks', { default: 2, min: 1, max: 10 }) ?? 2,
  };

  const ap = r.object('approvals')?.only(['beforeBackfill', 'beforeSwitchPrimary', 'beforeFinalCutover']);
  const approvals = {
    beforeBackfill: ap?.bool('beforeBackfill', false) ?? false,
    beforeSwitchPrimary: ap?.bool('beforeSwitchPrimary', true) ?? true,
    beforeFinalCutover: ap?.bool('beforeFinalCutover', true) ?? true,
  };

  return {
    target,
    connectionProfile,
    apps: { discovery, endpoints, adminTokenRef },
    backfill,
    verify,
    monitoring: { windowMinutes, healthCheckEveryMinutes },
    health,
    approvals,
    barrierTimeoutSeconds: r.int('barrierTimeoutSeconds', { default: 60, min: 5, max: 900 }),
    nonProduction,
    dryRun: r.bool('dryRun', false),
    history: parseHistoryBudget(r),
    continued: readContinued<ProductionContinuation>(r, PRODUCTION_STAGES),
  };
}
