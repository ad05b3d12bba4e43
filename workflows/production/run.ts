import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ProductionActivities } from '../../activities/production';
import type { HealthReport, Finding } from '../../activities/production/health';
import type { MonthParity } from '../../activities/production/verify';
import type { PreflightResult } from '../../activities/production/preflight';
import type { MigrateResult } from '../../activities/production/migrate';
import type { InstanceRef } from '../../activities/lib/admin-client';
import type { MemberNote } from '../../activities/production/membership';
import { RunController } from '../common/run-controller';
import { Saga } from '../common/saga';
import { BARRIER_STEP, LONG_COPY, SCAN_STEP, SHORT_STEP } from '../common/timeouts';
import type { ProductionSettings } from '../production-input';
import type { PersistenceMode, RecordedDecision, RollbackRecord } from '../types';
import type { ChainInfo } from '../common/continuation';
import type { ProductionStage } from './stages';
import type { WindowState } from '../common/run-controller';
import type { BackfillUnit } from '../../activities/production/backfill';
import type { MetricsSnapshot } from '../../activities/production/health';

export const short = proxyActivities<ProductionActivities>(SHORT_STEP);
export const barrier = proxyActivities<ProductionActivities>(BARRIER_STEP);
export const scan = proxyActivities<ProductionActivities>(SCAN_STEP);
export const long = proxyActivities<ProductionActivities>(LONG_COPY);

/** The modes of the runbook's production path. */
export const MODES = {
  memoryOnly: { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: false },
  dualWriteMemoryPrimary: { persistence: 'dual-write', primary: 'memory', failFast: false, dualWriteEnabled: true },
  dualWritePostgresPrimary: { persistence: 'dual-write', primary: 'postgres', failFast: false, dualWriteEnabled: true },
  postgresOnly: { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false },
} as const satisfies Record<string, PersistenceMode>;

export type CutoverOutcome = 'completed' | 'rolled-back' | 'aborted' | 'dry-run';

export interface ProductionCutoverResult {
  workflowId: string;
  target: string;
  outcome: CutoverOutcome;
  finalMode: PersistenceMode;
  backfill: { rows: number; written: number; skippedStale: number; skippedDeleted: number; partitionsCreated: string[]; seconds: number; rowsPerSecond: number; resumedChunks: number; units: number };
  parity: MonthParity[];
  migrate?: MigrateResult;
  monitoring: { checks: number; endedBy: string; lastHealth?: Omit<HealthReport, 'snapshot'>; baselineP99Ms: number | null };
  investigations: Finding[][];
  rollbacks: RollbackRecord[];
  decisions: RecordedDecision[];
  phases: { phase: string; startedAt: string; endedAt?: string; outcome?: string }[];
  preflight?: Pick<PreflightResult, 'schemaState' | 'totalRecords' | 'control'> & { instances: string[] };
  /**
   * Membership as the run saw it: each barrier's epoch with the instances that acknowledged it
   * and the fleet members it did not wait for (silent), the instances that joined the run
   * after preflight, and those an operator declared gone.
   */
  /** Records Postgres cannot store, named (at most 200) with the operator's skips (quarantine.ts). */
  quarantine?: {
    total: number;
    records: { instanceId: string; id: string; createdAt: string; field: string; reason: string }[];
    skipped: {
      before: string;
      ids: string[];
      total: number;
      operator: string;
      reason: string;
      at: string;
      /** Older Postgres versions of the skipped records, removed and tombstoned after the skip (patch skip-removes-older-versions). */
      removedFromPostgres?: { id: string; instanceId: string; updatedAt: string; quarantinedUpdatedAt: string }[];
      /** Skipped ids Postgres had already tombstoned with no row (an earlier attempt of the removal, or a delete). */
      alreadyTombstoned?: string[];
    }[];
  };
  /**
   * The chain of runs this result ends (bounded histories, workflows/common/continuation.ts):
   * the runs before the last, each with the events it ended with and where it handed over.
   */
  history?: { runs: number; continuedAt: ChainInfo['previous'] };
  membership?: {
    barriers: { epoch: number; mode: string; acknowledged: string[]; notAcknowledged: MemberNote[] }[];
    joined: { instanceId: string; before: string }[];
    forgotten: { instanceId: string; operator: string; reason: string; lastHeartbeat: string; appliedEpoch: number }[];
  };
}

/**
 * The state one production run passes from phase to phase. Phase modules read the settings,
 * call activities, record on the controller through its methods, add their undo to the saga,
 * and fill in their part of the result.
 */
export interface ProductionRun {
  readonly input: ProductionSettings;
  readonly ctl: RunController;
  readonly saga: Saga;
  readonly result: ProductionCutoverResult;
  /** `workflowId/runId` of the chain's first run: the run registry's key. */
  readonly runId: string;
  /** The input as given (without `continued`): what a hand-over starts the next run with. */
  readonly rawInput: Record<string, unknown>;
  /** Where the run is (what a hand-over resumes at); 'preflight' in a fresh run. */
  stage: ProductionStage;
  /** What steps pass to later steps, kept here so a hand-over carries it. */
  locals: ProductionLocals;
  chain: ChainInfo;
  readonly actor: string;
  /** The arguments every database activity takes. */
  readonly common: { connectionProfile: string; target: string };
  readonly appsRef: { adminTokenRef: string };
  instances: InstanceRef[];
  startingMode: PersistenceMode;
  /** The mode every instance last acknowledged (undefined before preflight read it). */
  currentMode: PersistenceMode | undefined;
  /** The control epoch of the last barrier (0 before the first). */
  epoch: number;
  lastHealth: HealthReport | undefined;
}


/** A backfill's work: the plan's months and the units (with their cursors) not yet copied. */
export interface BackfillWork {
  months: { month: string; from: string; to: string }[];
  pending: { unit: BackfillUnit & { count: number }; cursor: { createdAt: string; id: string } | null }[];
  /** Rows the plan counted and units it had (progress). */
  total: number;
  units: number;
  /** Time spent copying in earlier runs (rows/s across the chain). */
  elapsedMs: number;
}

export interface ProductionLocals {
  start?: MetricsSnapshot;
  baseline?: { p99Ms: number | null; snapshot: MetricsSnapshot };
  verified?: MetricsSnapshot;
  switched?: MetricsSnapshot;
  everySwitch?: boolean;
  fleetAware?: boolean;
  backfill?: BackfillWork;
  /** A monitoring window in progress. */
  monitor?: { window: WindowState; previous: MetricsSnapshot; unhealthyInARow: number };
}

export function startRun(input: ProductionSettings, rawInput: Record<string, unknown> = {}): ProductionRun {
  const info = workflowInfo();
  const a = input.approvals;
  const ctl = new RunController('productionCutover', input.target, 'production',
    [...(a.beforeBackfill ? ['backfill'] : []), ...(a.beforeSwitchPrimary ? ['switch-primary'] : []), ...(a.beforeFinalCutover ? ['final-cutover'] : [])],
    input.continued?.ctl); // a hand-over's state, restored before the handlers are installed
  const run: ProductionRun = {
    input,
    ctl,
    saga: new Saga(),
    runId: `${info.workflowId}/${info.runId}`,
    rawInput,
    stage: 'preflight',
    locals: {},
    chain: { previous: [] },
    actor: `productionCutover/${info.workflowId}`,
    common: { connectionProfile: input.connectionProfile, target: input.target },
    appsRef: { adminTokenRef: input.apps.adminTokenRef },
    instances: [],
    startingMode: MODES.memoryOnly,
    currentMode: undefined,
    epoch: 0,
    lastHealth: undefined,
    result: {
      workflowId: info.workflowId,
      target: input.target,
      outcome: 'completed',
      finalMode: MODES.memoryOnly,
      backfill: { rows: 0, written: 0, skippedStale: 0, skippedDeleted: 0, partitionsCreated: [], seconds: 0, rowsPerSecond: 0, resumedChunks: 0, units: 0 },
      parity: [],
      monitoring: { checks: 0, endedBy: 'not started', baselineP99Ms: null },
      investigations: [],
      rollbacks: ctl.status.rollbacks,
      decisions: ctl.status.decisions,
      phases: ctl.status.phases,
    },
  };
  ctl.setDetailsExtra(() => (run.lastHealth ? [healthLine(run.lastHealth)] : []));
  return run;
}

function healthLine(h: HealthReport): string {
  const ms = (v: number | null) => (v === null ? 'n/a' : `${Math.round(v)} ms`);
  return `Last health check: **${h.verdict}** — failures +${h.failuresDelta}, write p99 ${ms(h.p99Ms)} (baseline ${ms(h.baselineP99Ms)}), parity ${h.parity.checked - h.parity.drift}/${h.parity.checked}${h.reasons.length ? ` — ${h.reasons.join('; ')}` : ''}`;
}

/** Moves every live instance to `mode` (a barrier: each acknowledges the new epoch). */
export async function changeMode(run: ProductionRun, mode: PersistenceMode, reason: string): Promise<void> {
  const r = await barrier.changeMode({ ...run.common, mode, actor: run.actor, reason, timeoutSeconds: run.input.barrierTimeoutSeconds });
  run.epoch = r.epoch;
  // Histories recorded before the barrier returned the fleet carry results without these.
  const silent = r.notAcknowledged ?? [];
  membershipOf(run).barriers.push({
    epoch: r.epoch,
    mode: describeMode(mode),
    acknowledged: r.acknowledged ?? [],
    notAcknowledged: silent.map((m) => ({ instanceId: m.instanceId, lastHeartbeat: m.lastHeartbeat, appliedEpoch: m.appliedEpoch, live: m.live })),
  });
  if (silent.length) run.ctl.note(`epoch ${r.epoch}: silent fleet member(s) not waited for: ${silent.map((m) => `${m.instanceId} (last heartbeat ${m.lastHeartbeat}, applied epoch ${m.appliedEpoch})`).join('; ')}`);
  run.currentMode = mode;
  run.result.finalMode = mode;
  run.ctl.note(`mode → ${describeMode(mode)} (${reason})`);
}

export function membershipOf(run: ProductionRun): NonNullable<ProductionCutoverResult['membership']> {
  return (run.result.membership ??= { barriers: [], joined: [], forgotten: [] });
}

export function describeMode(m: PersistenceMode): string {
  if (m.persistence === 'dual-write') return `dual-write, ${m.primary} primary`;
  return `${m.persistence} only`;
}
