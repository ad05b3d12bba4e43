import type { KeptTable } from '../../activities/conversion/keep-or-drop';
import { proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { ConversionActivities } from '../../activities/conversion';
import type { ShadowMonthParity } from '../../activities/conversion/parity';
import type { SwapResult } from '../../activities/conversion/swap';
import { RunController } from '../common/run-controller';
import { rowsText } from '../../src/conversion/rows-text';
import { Saga } from '../common/saga';
import { BARRIER_STEP, LONG_COPY, SHORT_STEP } from '../common/timeouts';
import type { ConversionSettings } from '../conversion-input';
import type { RecordedDecision, RollbackRecord, RunStatus } from '../types';
import type { RetentionProgress, RetentionSummary } from './retention';
import type { ChainInfo } from '../common/continuation';
import type { RecordCursor } from '../../activities/conversion';
import type { ConversionStage } from './stages';

export type ConversionOutcome = 'completed' | 'rolled-back' | 'aborted';

export interface ConversionSummary {
  outcome: ConversionOutcome;
  target: string;
  /** How the shadow, then the old table, was kept in sync. */
  sync: ConversionSettings['sync'];
  /** Why the run rolled back (operator abort or the failure), when it did. */
  cause?: string;
  preflight?: { heapRows: number; /** heapRows is the planner's estimate (absent: counted). */ heapRowsEstimated?: true; heapBytes: number; months: string[] };
  partitions: string[];
  copy: { rows: number; batches: number; slices: number; ms: number; resumes: NonNullable<Awaited<ReturnType<ConversionActivities['copyHeapSlice']>>['resumedFrom']>[] };
  parity: { rounds: number; months: ShadowMonthParity[]; repaired: { month: string; upserted: number; deleted: number }[] };
  swap?: SwapResult & { operatorRetries: number };
  postSwap?: Awaited<ReturnType<ConversionActivities['postSwapCheck']>>;
  retention?: RetentionSummary;
  droppedOldTable: boolean;
  /** Tables a rollback kept aside instead of dropping (they held rows memory_records lacked), each with its drop statement. */
  keptTables?: KeptTable[];
  rollbacks: RollbackRecord[];
  phases: RunStatus['phases'];
  decisions: RecordedDecision[];
  /** The chain of runs this summary ends (bounded histories): the runs before the last. */
  history?: { runs: number; continuedAt: ChainInfo['previous'] };
}

const SWAP_STEP = { ...SHORT_STEP, startToCloseTimeout: '10 minutes', heartbeatTimeout: '1 minute' } as const;
/** Compensations must finish: many attempts, lock exhaustion retried with backoff. */
const ROLLBACK_STEP: ActivityOptions = { startToCloseTimeout: '10 minutes', retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 100, nonRetryableErrorTypes: ['PreflightFailed'] } };

export const short = proxyActivities<ConversionActivities>(SHORT_STEP);
export const swapActs = proxyActivities<ConversionActivities>(SWAP_STEP);
export const rollbackActs = proxyActivities<ConversionActivities>(ROLLBACK_STEP);
export const barrier = proxyActivities<ConversionActivities>(BARRIER_STEP);

export function copyActs(s: ConversionSettings) {
  return proxyActivities<ConversionActivities>({
    ...LONG_COPY,
    heartbeatTimeout: `${s.copy.heartbeatTimeoutSeconds} seconds`,
    // An abort waits until the copy has stopped, so the rollback never races a running batch.
    cancellationType: 'WAIT_CANCELLATION_COMPLETED' as never,
  });
}

/** The state one conversion passes from phase to phase (see workflows/production/run.ts). */
export interface ConversionRun {
  readonly s: ConversionSettings;
  readonly ctl: RunController;
  readonly saga: Saga;
  readonly summary: ConversionSummary;
  /** `runId` of the chain's first run: the run registry's key. */
  readonly runId: string;
  readonly workflowId: string;
  /** Activities take the connection profile as `profile`. */
  readonly profile: string;
  /** Sync by the app's dual-write onto the shadow (else a row trigger). */
  readonly app: boolean;
  readonly appSync: { profile: string; target: string; barrierTimeoutSeconds: number };
  readonly swapInput: { profile: string; lock: ConversionSettings['lock']; sync: ConversionSettings['sync']; target: string; barrierTimeoutSeconds: number };
  /** The run registry has this run (preflight passed): the ending closes its entry. */
  registered: boolean;
  /** The input as given (without `continued`): what a hand-over starts the next run with. */
  readonly rawInput: Record<string, unknown>;
  /** Where the run is (what a hand-over resumes at); 'preflight' in a fresh run. */
  stage: ConversionStage;
  /** What steps pass to later steps, kept here so a hand-over carries it. */
  locals: ConversionLocals;
  chain: ChainInfo;
}

export interface ConversionLocals {
  /** The heap's months (preflight → shadow). */
  months?: string[];
  /** A copy in progress: where the next slice starts. */
  copy?: { upperBound: RecordCursor | null; cursor: RecordCursor; elapsedMs: number };
  retention?: RetentionProgress;
}

export function startConversion(s: ConversionSettings, rawInput: Record<string, unknown> = {}): ConversionRun {
  // A hand-over's state (s.continued) is restored before the handlers are installed.
  const ctl = new RunController('heapToPartitionedConversion', s.target, 'conversion', [...(s.approveBeforeSwap ? ['before-swap'] : []), 'drop-old-table'], s.continued?.ctl);
  const { runId, workflowId } = workflowInfo();
  const profile = s.connectionProfile;
  const summary: ConversionSummary = {
    outcome: 'completed', target: s.target, sync: s.sync, partitions: [], droppedOldTable: false,
    copy: { rows: 0, batches: 0, slices: 0, ms: 0, resumes: [] },
    parity: { rounds: 0, months: [], repaired: [] },
    rollbacks: ctl.status.rollbacks, phases: ctl.status.phases, decisions: ctl.status.decisions,
  };
  ctl.setDetailsExtra(() => summaryLines(summary));
  return {
    s, ctl, saga: new Saga(), summary, runId, workflowId, profile,
    app: s.sync === 'app-dual-write',
    appSync: { profile, target: s.target, barrierTimeoutSeconds: s.appBarrierTimeoutSeconds },
    swapInput: { profile, lock: s.lock, sync: s.sync, target: s.target, barrierTimeoutSeconds: s.appBarrierTimeoutSeconds },
    registered: false,
    rawInput,
    stage: 'preflight',
    locals: {},
    chain: { previous: [] },
  };
}

/** The summary's lines in the run's details (the Web UI). */
export function summaryLines(s: ConversionSummary): string[] {
  const out: string[] = [];
  out.push(`Sync: ${s.sync === 'app-dual-write' ? 'the app writes both tables in one transaction (control-plane mirror)' : 'row trigger on the heap table'}`);
  if (s.preflight) out.push(`Heap: ${rowsText(s.preflight.heapRows, s.preflight.heapRowsEstimated)}, ${Math.round(s.preflight.heapBytes / 1024)} KiB, ${s.preflight.months.length} months`);
  if (s.copy.rows) out.push(`Copied: ${s.copy.rows} rows in ${s.copy.batches} batches` + (s.copy.resumes.length ? ` (resumed from a checkpoint ${s.copy.resumes.length}×)` : ''));
  if (s.parity.months.length) out.push(`Parity: ${s.parity.months.filter((m) => m.match).length}/${s.parity.months.length} months match, ${s.parity.repaired.length} repaired`);
  if (s.swap?.lockHoldMs != null) out.push(`Swap: locks held ${s.swap.lockHoldMs.toFixed(1)} ms (transaction ${s.swap.transactionMs?.toFixed(1)} ms, ${s.swap.tries} tries)`);
  if (s.retention) out.push(`Retention: ${s.retention.checks} checks${s.retention.driftSeen ? `, DRIFT SEEN (${(s.retention.drift ?? []).join(', ')})` : ''}`);
  return out;
}
