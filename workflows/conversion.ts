import { ApplicationFailure, CancellationScope, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { ConversionActivities, RecordCursor } from '../activities/conversion';
import type { MonthParity } from '../activities/conversion/parity';
import type { SwapResult } from '../activities/conversion/swap';
import { RunController } from './common/run-controller';
import { BARRIER_STEP, LONG_COPY, SHORT_STEP } from './common/timeouts';
import { InputError, toFailure } from './common/validate';
import { parseConversionInput, type ConversionInput, type ConversionSettings } from './conversion-input';
import type { RecordedDecision, RollbackRecord, RunStatus } from './types';

export type { ConversionInput } from './conversion-input';

export interface ConversionSummary {
  status: 'completed' | 'rolled-back' | 'aborted';
  target: string;
  /** How the shadow, then the old table, was kept in sync. */
  sync: ConversionSettings['sync'];
  /** Why the run rolled back (operator abort or the failure), when it did. */
  cause?: string;
  preflight?: { heapRows: number; heapBytes: number; months: string[] };
  partitions: string[];
  copy: { rows: number; batches: number; slices: number; ms: number; resumes: NonNullable<Awaited<ReturnType<ConversionActivities['copyHeapSlice']>>['resumedFrom']>[] };
  parity: { rounds: number; months: MonthParity[]; repaired: { month: string; upserted: number; deleted: number }[] };
  swap?: SwapResult & { operatorRetries: number };
  postSwap?: Awaited<ReturnType<ConversionActivities['postSwapCheck']>>;
  retention?: { minutes: number; ended: 'elapsed' | 'ended-early'; checks: number; driftSeen: boolean };
  droppedOldTable: boolean;
  rollbacks: RollbackRecord[];
  phases: RunStatus['phases'];
  decisions: RecordedDecision[];
}

const SWAP_STEP = { ...SHORT_STEP, startToCloseTimeout: '10 minutes', heartbeatTimeout: '1 minute' } as const;
/** Compensations must finish: many attempts, lock exhaustion retried with backoff. */
const ROLLBACK_STEP: ActivityOptions = { startToCloseTimeout: '10 minutes', retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 100, nonRetryableErrorTypes: ['PreflightFailed'] } };

const short = proxyActivities<ConversionActivities>(SHORT_STEP);
const swapActs = proxyActivities<ConversionActivities>(SWAP_STEP);
const rollback = proxyActivities<ConversionActivities>(ROLLBACK_STEP);
const barrier = proxyActivities<ConversionActivities>(BARRIER_STEP);

function copyActs(s: ConversionSettings) {
  return proxyActivities<ConversionActivities>({
    ...LONG_COPY,
    heartbeatTimeout: `${s.copy.heartbeatTimeoutSeconds} seconds`,
    // An abort waits until the copy has stopped, so the rollback never races a running batch.
    cancellationType: 'WAIT_CANCELLATION_COMPLETED' as never,
  });
}

/**
 * The runbook's "Heap-to-Partitioned Conversion Procedure" as one durable run: preflight →
 * create shadow → install sync → copy → verify (repair) → [approval] → swap → post-swap check →
 * retention → [approval] → drop old table → summary. Every step that changed something pushes
 * its undo; an abort or a failure undoes them in reverse, in a non-cancellable scope:
 * before the swap the source is untouched (trigger and shadow removed); after it, the tables
 * are swapped back (the reverse sync kept memory_records_old complete).
 */
export async function heapToPartitionedConversion(input: ConversionInput): Promise<ConversionSummary> {
  let s: ConversionSettings;
  try {
    s = parseConversionInput(input);
  } catch (err) {
    if (err instanceof InputError) throw toFailure(err);
    throw err;
  }
  const ctl = new RunController('heapToPartitionedConversion', s.target, 'conversion');
  const { runId, workflowId } = workflowInfo();
  const profile = s.profile;
  const summary: ConversionSummary = {
    status: 'completed', target: s.target, sync: s.sync, partitions: [], droppedOldTable: false,
    copy: { rows: 0, batches: 0, slices: 0, ms: 0, resumes: [] },
    parity: { rounds: 0, months: [], repaired: [] },
    rollbacks: ctl.status.rollbacks, phases: ctl.status.phases, decisions: ctl.status.decisions,
  };
  ctl.setDetailsExtra(() => summaryLines(summary));

  interface Compensation { name: string; branch: 'before-swap' | 'after-swap' | 'bookkeeping'; undo: () => Promise<unknown> }
  const compensations: Compensation[] = [];
  let registered = false;
  const app = s.sync === 'app-dual-write';
  const appSync = { profile, target: s.target, barrierTimeoutSeconds: s.appBarrierTimeoutSeconds };
  const swapInput = { profile, lock: s.lock, sync: s.sync, target: s.target, barrierTimeoutSeconds: s.appBarrierTimeoutSeconds };

  try {
    await ctl.runCancellable(async () => {
      const pre = await ctl.phase('preflight', async () => {
        if (app) {
          const a = await short.checkAppSync(appSync);
          ctl.note(`sync app-dual-write: ${a.instances.length} live app instance(s) (${a.instances.join(', ')}); control row: ${a.control}`);
        }
        return short.conversionPreflight({ profile, target: s.target, runId, workflowId });
      });
      registered = true;
      summary.preflight = { heapRows: pre.heapRows, heapBytes: pre.heapBytes, months: pre.months };
      if (pre.shadowExists) ctl.note('a shadow table from an earlier run exists: reused (the copy and the parity repair converge it)');

      compensations.push({ name: 'remove sync and shadow', branch: 'before-swap', undo: () => rollback.removeShadow({ profile, lock: s.lock }) });
      const shadow = await ctl.phase('create-shadow', () => short.createShadow({ profile, months: pre.months, premakeMonths: s.premakeMonths }));
      summary.partitions = shadow.partitions;

      if (app) {
        // Undone first (compensations run in reverse): the app stops mirroring before the shadow goes.
        compensations.push({ name: 'remove the app mirror', branch: 'before-swap', undo: () => rollback.removeAppMirror({ ...appSync, reason: 'conversion rolled back: the app stops mirroring into the shadow' }) });
        await ctl.phase('install-sync', async () => {
          const r = await barrier.installAppMirror({ ...appSync, mirrorTable: 'memory_records_partitioned' });
          ctl.note(`the app mirrors every write into memory_records_partitioned from control epoch ${r.epoch}` + (r.acknowledged.length ? ` (acknowledged by ${r.acknowledged.join(', ')})` : ''));
        });
      } else {
        await ctl.phase('install-sync', () => swapActs.installForwardSync({ profile, lock: s.lock }));
      }

      await ctl.phase('copy', async () => {
        const { upperBound } = await short.copyUpperBound({ profile });
        const acts = copyActs(s);
        let cursor: RecordCursor = { createdAt: '-infinity', id: '00000000-0000-0000-0000-000000000000' };
        const t0 = Date.now();
        for (;;) {
          const r = await acts.copyHeapSlice({ profile, cursor, upperBound, ...s.copy });
          summary.copy.slices++;
          summary.copy.rows += r.rowsScanned;
          summary.copy.batches += r.batches;
          if (r.resumedFrom) summary.copy.resumes.push(r.resumedFrom);
          cursor = r.cursor;
          const secs = Math.max(1, (Date.now() - t0) / 1000);
          const rate = summary.copy.rows / secs;
          const total = Math.max(pre.heapRows, summary.copy.rows);
          ctl.setProgress({ done: summary.copy.rows, total, unit: 'rows', ratePerSec: rate, etaSeconds: rate > 0 ? (total - summary.copy.rows) / rate : undefined });
          if (r.done) break;
        }
        summary.copy.ms = Date.now() - t0;
      });

      await ctl.phase('verify', async () => {
        for (let round = 1; ; round++) {
          summary.parity.rounds = round;
          const months = await short.verifyConversionParity({ profile });
          summary.parity.months = months;
          const bad = months.filter((m) => !m.match);
          ctl.setProgress({ done: months.length - bad.length, total: months.length, unit: 'months' });
          if (bad.length === 0) return;
          if (round > s.maxRepairRounds) {
            throw ApplicationFailure.nonRetryable(
              `parity still differs after ${s.maxRepairRounds} repair rounds in ${bad.map((m) => m.month.slice(0, 7)).join(', ')}`, 'ParityMismatch');
          }
          for (const m of bad) summary.parity.repaired.push(await short.repairConversionMonth({ profile, month: m.month }));
        }
      });

      if (s.approveBeforeSwap) await ctl.gate('before-swap', 'parity verified; approve the atomic swap of memory_records');

      await ctl.phase('swap', async () => {
        let operatorRetries = 0;
        for (;;) {
          try {
            const r = await swapActs.swapTables(swapInput);
            summary.swap = { ...r, operatorRetries };
            return;
          } catch (err) {
            if (!isFailureOfType(err, 'SwapLockTimeout')) throw err;
            ctl.note(`swap could not take its locks in ${s.lock.maxTries} tries of ${s.lock.lockTimeoutMs} ms`);
            await ctl.waitForOperator(`the swap could not take its locks in ${s.lock.maxTries} tries (lock_timeout ${s.lock.lockTimeoutMs} ms): a long transaction holds a lock on ${s.target}; end it, then retry`);
            operatorRetries++;
          }
        }
      });
      compensations.push({ name: 'swap back', branch: 'after-swap', undo: () => rollback.swapBack(swapInput) });

      await ctl.phase('post-swap-check', async () => {
        const r = await short.postSwapCheck({ profile, sync: s.sync, target: s.target });
        summary.postSwap = r;
        if (!r.ok) throw ApplicationFailure.nonRetryable(`post-swap check failed: ${r.problems.join('; ')}`, 'PostSwapCheckFailed');
      });

      await ctl.phase('retention', async () => {
        const ret = { minutes: s.retentionMinutes, ended: 'elapsed' as 'elapsed' | 'ended-early', checks: 0, driftSeen: false };
        summary.retention = ret;
        if (s.retentionMinutes === 0) return;
        ctl.offerGate('end-retention');
        try {
          ret.ended = await ctl.window({
            minutes: s.retentionMinutes,
            tickMinutes: s.retentionCheckMinutes,
            endEarly: () => ctl.approved('end-retention') !== undefined,
            tick: async () => {
              const h = await short.retentionParity({ profile });
              ret.checks++;
              ctl.status.lastHealth = { reverseSyncParity: h.ok, months: h.months, mismatched: h.mismatched.map((m) => m.month) };
              if (!h.ok) {
                ret.driftSeen = true;
                ctl.note(`memory_records_old drifted from memory_records in ${h.mismatched.map((m) => m.month.slice(0, 7)).join(', ')}: a rollback would lose writes; investigate before approving the drop`);
              }
            },
          });
        } finally {
          ctl.closeGate();
        }
      });

      await ctl.gate('drop-old-table', 'retention is over; approve dropping memory_records_old (the last way back)');
      await ctl.phase('drop-old-table', () => swapActs.dropOldTable(swapInput));
      summary.droppedOldTable = true;
      compensations.length = 0; // nothing left to undo: the old table is gone
    });

    await ctl.phase('summary', async () => {
      await short.finishConversionRun({ profile, runId, status: 'completed' });
    });
    ctl.setState('completed');
    return summary;
  } catch (err) {
    const aborted = ctl.isAbort(err);
    const cause = aborted ? `aborted by ${ctl.aborted!.operator}: ${ctl.aborted!.reason}` : describe(err);
    summary.cause = cause;
    ctl.setState('rolling-back', `rolling back: ${cause}`);
    const afterSwap = compensations.some((c) => c.branch === 'after-swap');
    const failures: string[] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const c of [...compensations].reverse()) {
        try {
          await c.undo();
          ctl.note(`compensated: ${c.name}`);
        } catch (e) {
          failures.push(`${c.name}: ${describe(e)}`);
        }
      }
      if (registered) {
        await rollback.finishConversionRun({ profile, runId, status: failures.length ? 'failed' : aborted ? 'aborted' : 'rolled_back' }).catch((e) => failures.push(`finish run: ${describe(e)}`));
      }
    });
    if (compensations.length) {
      ctl.status.rollbacks.push({
        branch: afterSwap ? `after-swap: swapped back, ${app ? 'app mirror' : 'sync'} and shadow removed` : `before-swap: ${app ? 'app mirror' : 'sync trigger'} and shadow removed, source untouched`,
        cause, at: new Date().toISOString(), endedInMode: 'heap memory_records (unchanged)',
      });
    }
    if (failures.length) {
      ctl.setState('failed', `rollback incomplete: ${failures.join('; ')}`);
      throw ApplicationFailure.nonRetryable(`rollback incomplete after "${cause}": ${failures.join('; ')}`, 'RollbackIncomplete');
    }
    if (!registered && !aborted) {
      // Nothing changed (preflight refused): surface the refusal itself.
      ctl.setState('failed', cause);
      throw err;
    }
    summary.status = aborted ? 'aborted' : 'rolled-back';
    ctl.setState(aborted ? 'aborted' : 'rolled-back');
    return summary;
  }
}

function isFailureOfType(err: unknown, type: string): boolean {
  let e: unknown = err;
  while (e && typeof e === 'object') {
    if (e instanceof ApplicationFailure && e.type === type) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function describe(err: unknown): string {
  let e: unknown = err;
  let msg = (err as Error)?.message ?? String(err);
  while (e && typeof e === 'object' && (e as { cause?: unknown }).cause) {
    e = (e as { cause?: unknown }).cause;
    msg = (e as Error).message ?? msg;
  }
  return msg.slice(0, 500);
}

function summaryLines(s: ConversionSummary): string[] {
  const out: string[] = [];
  out.push(`Sync: ${s.sync === 'app-dual-write' ? 'the app writes both tables in one transaction (control-plane mirror)' : 'row trigger on the heap table'}`);
  if (s.preflight) out.push(`Heap: ${s.preflight.heapRows} rows, ${Math.round(s.preflight.heapBytes / 1024)} KiB, ${s.preflight.months.length} months`);
  if (s.copy.rows) out.push(`Copied: ${s.copy.rows} rows in ${s.copy.batches} batches` + (s.copy.resumes.length ? ` (resumed from a checkpoint ${s.copy.resumes.length}×)` : ''));
  if (s.parity.months.length) out.push(`Parity: ${s.parity.months.filter((m) => m.match).length}/${s.parity.months.length} months match, ${s.parity.repaired.length} repaired`);
  if (s.swap?.lockHoldMs != null) out.push(`Swap: locks held ${s.swap.lockHoldMs.toFixed(1)} ms (transaction ${s.swap.transactionMs?.toFixed(1)} ms, ${s.swap.tries} tries)`);
  if (s.retention) out.push(`Retention: ${s.retention.checks} checks${s.retention.driftSeen ? ', DRIFT SEEN' : ''}`);
  return out;
}
