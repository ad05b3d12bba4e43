import { ApplicationFailure, patched, proxyActivities, workflowInfo, type RetryPolicy } from '@temporalio/workflow';
import type { ConversionActivities } from '../../activities/conversion';
import type { GenericInput } from '../../activities/conversion/generic/activities';
import type { AttachInput, AttachPost } from '../../activities/conversion/generic/attach';
import { tableText } from '../../src/conversion/choice/choice';
import { ATTACH_BOUND_MARGIN_MS } from '../../src/shared/attach-margin';
import { PATCHES } from '../patches';
import { RunController } from '../common/run-controller';
import { Saga } from '../common/saga';
import { SHORT_STEP } from '../common/timeouts';
import { isHandOver } from '../common/continuation';
import { describeFailure, isFailureOfType } from '../common/failures';
import type { GenericConversionSettings } from './generic-input';
import { keepWorking, rollBackGeneric, type GenericConversionSummary } from './generic';
import { recordKept } from './kept';
import { retentionWindow } from './retention';

const step = proxyActivities<ConversionActivities>({ ...SHORT_STEP, startToCloseTimeout: '1 hour' });
/**
 * The swap: its activity heartbeats every second while it tries (generic/swap-lock.ts): a lost
 * worker is replaced within seconds, and an abort reaches it within one throttled heartbeat
 * (0.8 × this timeout), ending its backoff between tries.
 */
const swapStep = proxyActivities<ConversionActivities>({ ...SHORT_STEP, startToCloseTimeout: '10 minutes', heartbeatTimeout: '10 seconds' });
const UNDO_RETRY: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 100, nonRetryableErrorTypes: ['StillSwapped'] };
/**
 * Both undos run long statements. The rollback before the swap drops the index CONCURRENTLY
 * (it waits for every older transaction). The swap back rebuilds the heap's original key CONCURRENTLY (hours on a large table, as the
 * prepare's build) and moves back the rows written since under its lock: it heartbeats
 * throughout, so a lost worker is replaced after the run's heartbeat timeout, and its bound is a
 * day, not the hour a rebuild would outlast on every attempt.
 */
const swapBackStep = (s: GenericConversionSettings) => proxyActivities<ConversionActivities>({
  startToCloseTimeout: '24 hours', heartbeatTimeout: `${s.copyHeartbeatTimeoutSeconds} seconds`, retry: UNDO_RETRY,
});

/**
 * The prepare builds an index and validates a check: hours on a large table, with no row loop.
 * It heartbeats Postgres' progress (activities/lib/long-statement.ts), so a lost worker is
 * replaced after the run's heartbeat timeout (input `copy.heartbeatTimeoutSeconds`), and the
 * start-to-close bound is a day, not the hour a build of a 500 GB table could outlast.
 */
const prepareStep = (s: GenericConversionSettings) => proxyActivities<ConversionActivities>({
  ...SHORT_STEP, startToCloseTimeout: '24 hours', heartbeatTimeout: `${s.copyHeartbeatTimeoutSeconds} seconds`,
});

const BRANCHES = {
  after: 'after-swap: history partition detached, rows written since moved back into it, names and key restored',
  before: 'before-swap: the bound check and the (key, column) index removed, source untouched',
};

/**
 * The swap, retried on an operator's decision after a lock timeout (untilDone). With the patch,
 * the wait for that decision ends an hour before the bound, as the before-swap gate does (the
 * check refuses writes at or beyond the bound until the swap).
 */
async function swapUntilDone<T>(ctl: RunController, target: string, bound: number, boundText: string, fn: () => Promise<T>, onResume: () => void): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isFailureOfType(err, 'SwapLockTimeout')) throw err;
      ctl.note(describeFailure(err));
      if (patched(PATCHES.attachGateBound.id)) {
        const by = new Date(bound - ATTACH_BOUND_MARGIN_MS).toISOString();
        await ctl.waitForOperator(`${describeFailure(err)}; decide by ${by}: then the run rolls back before the swap (from ${boundText} on the check would refuse every write at or beyond it)`, {
          ms: bound - ATTACH_BOUND_MARGIN_MS, late: () => ApplicationFailure.nonRetryable(`no decision on the swap's lock timeout by ${by}, an hour before the bound ${boundText}: from the bound on, the check would refuse every write of ${target} at or beyond it until the swap; rolled back before the swap (the check and the index go); start the run again when the swap can take its locks: a new bound is chosen`, 'AttachBoundReached'),
        });
      } else {
        await ctl.waitForOperator(describeFailure(err));
      }
      onResume();
    }
  }
}

/**
 * Mode attach (instant conversion): preflight → attach prepare (index CONCURRENTLY, CHECK NOT
 * VALID + VALIDATE; writes go on) → `before-swap` → swap (one catalog-only transaction) →
 * post-swap check → retention (the heap IS the history partition: no old table, no reverse sync,
 * no drop; the window checks the heap is still attached and an abort in it swaps back) →
 * partitions ahead and the maintenance Schedule. Undo by the saga: before the swap the check and
 * the index go; after it the heap is detached and the rows written since move back into it.
 */
export async function attachConversion(s: GenericConversionSettings): Promise<GenericConversionSummary> {
  const target = tableText(s.choice.table);
  const o = s.choice.options;
  const anyOption = Object.keys(o.uniqueKeys ?? {}).length > 0 || o.incomingForeignKeys === 'drop' || o.defaultPartition;
  const ctl = new RunController('heapToPartitionedConversion', target, 'conversion', s.approveBeforeSwap || anyOption ? ['before-swap'] : []);
  const info = workflowInfo();
  const runId = info.runId;
  const profile = s.connectionProfile;
  const io: GenericInput = { profile, choice: s.choice, planAt: info.startTime.getTime(), lockTimeoutMs: s.lockTimeoutMs, swapRetry: s.swapRetry };
  const saga = new Saga();
  const summary: GenericConversionSummary = { outcome: 'completed', target, mode: 'attach', droppedOldTable: false, rollbacks: ctl.status.rollbacks, phases: ctl.status.phases, decisions: ctl.status.decisions };
  let registered = false;
  let post: AttachPost | undefined;
  try {
    await ctl.runCancellable(async () => {
      summary.plan = await ctl.phase('preflight', () => step.planGenericConversion({ ...io, runId, workflowId: info.workflowId }));
      registered = true;
      // Preflight's one scan, carried: no later activity scans the table to re-plan (the swap's 10-minute step would not outlast one on a large table).
      io.facts = summary.plan.facts;
      const a = summary.plan.attach;
      if (!a) throw ApplicationFailure.nonRetryable(`the plan of ${target} has no attach section`, 'PlanChanged');
      const ai: AttachInput = { ...io, attachBound: a.bound };
      summary.attach = { history: a.history, bound: a.boundText };
      for (const d of summary.plan.decisions) ctl.note(`option chosen for ${d.code} (${d.object}): ${d.choice}`);
      ctl.note(`mode attach: ${target} becomes ${a.history} [MINVALUE, ${a.boundText}); no row is copied`);
      saga.add({ key: 'attach-before-swap', name: 'remove the bound check and the index', undo: async () => { await swapBackStep(s).attachRollbackBeforeSwap(ai); }, byHand: `ALTER TABLE ${target} DROP CONSTRAINT IF EXISTS <lichen_attach_bound_…>; DROP INDEX CONCURRENTLY IF EXISTS <key>_history (both the tool's own)` });
      summary.attach.prepared = await ctl.phase('attach prepare', () => prepareStep(s).attachPrepare(ai));
      const chosen = summary.plan.decisions.map((d) => `${d.code} ${d.object}: ${d.choice}`);
      if (s.approveBeforeSwap || chosen.length) {
        const why = `index built and bound ${a.boundText} validated; approve the attach of ${target} as its history partition` + (chosen.length ? ` carrying out ${chosen.join('; ')}` : '');
        if (patched(PATCHES.attachGateBound.id)) {
          // The check refuses every write at or beyond the bound until the swap: the gate waits no longer than the swap may start.
          const ms = a.bound - ATTACH_BOUND_MARGIN_MS;
          const by = new Date(ms).toISOString();
          await ctl.gate('before-swap', `${why}; approve by ${by}: then the run rolls back before the swap (from ${a.boundText} on the check would refuse every write at or beyond it)`, {
            ms, late: () => ApplicationFailure.nonRetryable(`before-swap was not approved by ${by}, an hour before the bound ${a.boundText}: from the bound on, the check would refuse every write of ${target} at or beyond it until the swap; rolled back before the swap (the check and the index go); start the run again when the swap can be approved within a day: a new bound is chosen`, 'AttachBoundReached'),
          });
        } else {
          await ctl.gate('before-swap', why);
        }
      }
      post = await step.attachPostStatements(ai);
      // Added before the swap: the swap back is a no-op when the swap did not happen.
      saga.add({
        key: 'attach-swap-back', name: 'swap back (detach the history partition, move rows back)',
        undo: async () => {
          const r = await swapBackStep(s).attachSwapBack({ profile, post: post!, lockTimeoutMs: s.lockTimeoutMs });
          if (r.movedBack !== undefined) summary.attach!.movedBack = r.movedBack;
          if (r.keyRestored) summary.attach!.keyRestored = true;
          recordKept(ctl, summary, r);
        },
        byHand: `in one transaction: ALTER TABLE ${target} DETACH PARTITION ${post.history}; INSERT INTO ${post.history} SELECT * FROM ${target}; rename ${target} aside and ${post.history} back to ${target}; keep the partitioned table until you have checked it holds no row the heap lacks`,
      });
      let operatorRetries = 0;
      summary.swap = { ...(await ctl.phase('swap', () => swapUntilDone(ctl, target, a.bound, a.boundText, () => swapStep.attachSwap(ai), () => operatorRetries++))), operatorRetries };
      if (typeof summary.swap.lockMs === 'number') ctl.note(`attach swap: ${target} held ACCESS EXCLUSIVE for ${summary.swap.lockMs} ms (try ${summary.swap.tries})`);
      await ctl.phase('post-swap check', async () => {
        const h = await step.attachHealth({ profile, post: post! });
        if (!h.attached) throw ApplicationFailure.nonRetryable(`post-swap check failed: ${post!.history} is not a partition of ${target}`, 'PostSwapCheckFailed');
      });
      // No old table to keep in sync (the heap IS the history partition) and nothing to drop: the window only watches, and an abort in it swaps back.
      await ctl.phase('retention', () => retentionWindow(ctl, {
        minutes: s.retentionMinutes, tickMinutes: s.retentionCheckMinutes, old: post!.history, table: target, into: (ret) => (summary.retention = ret),
        check: async () => {
          const h = await step.attachHealth({ profile, post: post! });
          return { ok: h.attached, drifted: h.attached ? [] : [`${post!.history} is no longer a partition of ${target}`], health: { attached: h.attached, rowsInNewPartitions: h.rowsInNewPartitions } };
        },
      }));
      saga.clear();
      await keepWorking(ctl, io, summary);
    });
    await ctl.phase('summary', () => step.finishConversionRun({ profile, runId, status: 'completed' }));
    ctl.setState('completed');
    return summary;
  } catch (err) {
    if (isHandOver(err)) throw err;
    return rollBackGeneric(ctl, saga, summary, err, registered, profile, runId, BRANCHES);
  }
}
