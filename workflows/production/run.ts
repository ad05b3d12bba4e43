import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ProductionActivities } from '../../activities/production';
import type { HealthReport, Finding } from '../../activities/production/health';
import type { MonthParity } from '../../activities/production/verify';
import type { PreflightResult } from '../../activities/production/preflight';
import type { MigrateResult } from '../../activities/production/migrate';
import type { InstanceRef } from '../../activities/lib/admin-client';
import { RunController } from '../common/run-controller';
import { Saga } from '../common/saga';
import { BARRIER_STEP, LONG_COPY, SCAN_STEP, SHORT_STEP } from '../common/timeouts';
import type { ProductionSettings } from '../production-input';
import type { PersistenceMode, RecordedDecision, RollbackRecord } from '../types';

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
  /** `workflowId/runId`: the run registry's key. */
  readonly runId: string;
  readonly actor: string;
  /** The arguments every database activity takes. */
  readonly common: { connectionProfile: string; target: string };
  readonly appsRef: { adminTokenRef: string };
  instances: InstanceRef[];
  startingMode: PersistenceMode;
  /** The mode every instance last acknowledged (undefined before preflight read it). */
  currentMode: PersistenceMode | undefined;
  lastHealth: HealthReport | undefined;
}

export function startRun(input: ProductionSettings): ProductionRun {
  const info = workflowInfo();
  const ctl = new RunController('productionCutover', input.target, 'production');
  const run: ProductionRun = {
    input,
    ctl,
    saga: new Saga(),
    runId: `${info.workflowId}/${info.runId}`,
    actor: `productionCutover/${info.workflowId}`,
    common: { connectionProfile: input.connectionProfile, target: input.target },
    appsRef: { adminTokenRef: input.apps.adminTokenRef },
    instances: [],
    startingMode: MODES.memoryOnly,
    currentMode: undefined,
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
  await barrier.changeMode({ ...run.common, mode, actor: run.actor, reason, timeoutSeconds: run.input.barrierTimeoutSeconds });
  run.currentMode = mode;
  run.result.finalMode = mode;
  run.ctl.note(`mode → ${describeMode(mode)} (${reason})`);
}

export function describeMode(m: PersistenceMode): string {
  if (m.persistence === 'dual-write') return `dual-write, ${m.primary} primary`;
  return `${m.persistence} only`;
}
