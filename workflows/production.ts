import { ActivityFailure, ApplicationFailure, CancellationScope, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ProductionActivities } from '../activities/production';
import type { BackfillChunkResult, BackfillUnit } from '../activities/production/backfill';
import type { HealthReport, MetricsSnapshot, Finding } from '../activities/production/health';
import type { MonthParity } from '../activities/production/verify';
import type { PreflightResult } from '../activities/production/preflight';
import type { MigrateResult } from '../activities/production/migrate';
import type { InstanceRef } from '../activities/lib/admin-client';
import { RunController, formatDuration } from './common/run-controller';
import { InputError, toFailure } from './common/validate';
import { BARRIER_STEP, LONG_COPY, SCAN_STEP, SHORT_STEP } from './common/timeouts';
import { resolveProductionInput, type ProductionCutoverInput, type ResolvedProductionInput } from './production-input';
import type { PersistenceMode, RecordedDecision, RollbackRecord } from './types';

const short = proxyActivities<ProductionActivities>(SHORT_STEP);
const barrier = proxyActivities<ProductionActivities>(BARRIER_STEP);
const scan = proxyActivities<ProductionActivities>(SCAN_STEP);
const long = proxyActivities<ProductionActivities>(LONG_COPY);

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

/** A failure the workflow turns into a rollback branch (not an activity failure). */
class RollbackRequested extends Error {
  readonly branch: string;
  readonly why: string;
  constructor(branch: string, why: string) {
    super(`${branch}: ${why}`);
    this.branch = branch;
    this.why = why;
  }
}

class MonitoringIssue extends Error {
  readonly report: HealthReport;
  constructor(report: HealthReport) {
    super(report.reasons.join('; '));
    this.report = report;
  }
}

function failureType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return (cause as Error)?.message ?? String(err);
}

/**
 * The runbook's "For Production (With Existing Phase 2 Data)" as one durable run:
 * preflight → ensure schema → enable dual-write (memory primary) → backfill → verify →
 * migrate → switch primary to Postgres → monitoring window → final cutover → summary,
 * with an automatic rollback branch for each failure the runbook documents.
 */
export async function productionCutover(rawInput: ProductionCutoverInput): Promise<ProductionCutoverResult> {
  let input: ResolvedProductionInput;
  try {
    input = resolveProductionInput(rawInput);
  } catch (err) {
    if (err instanceof InputError) throw toFailure(err);
    throw err;
  }
  const info = workflowInfo();
  const ctl = new RunController('productionCutover', input.target, 'production');
  const actor = `productionCutover/${info.workflowId}`;
  const common = { connectionProfile: input.connectionProfile, target: input.target };
  const appsRef = { adminTokenRef: input.apps.adminTokenRef };

  const result: ProductionCutoverResult = {
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
  };

  let instances: InstanceRef[] = [];
  let startingMode: PersistenceMode = MODES.memoryOnly;
  let currentMode: PersistenceMode | undefined;
  let lastHealth: HealthReport | undefined;
  ctl.setDetailsExtra(() => {
    if (!lastHealth) return [];
    const h = lastHealth;
    return [`Last health check: **${h.verdict}** — failures +${h.failuresDelta}, write p99 ${h.p99Ms === null ? 'n/a' : `${Math.round(h.p99Ms)} ms`} (baseline ${h.baselineP99Ms === null ? 'n/a' : `${Math.round(h.baselineP99Ms)} ms`}), parity ${h.parity.checked - h.parity.drift}/${h.parity.checked}${h.reasons.length ? ` — ${h.reasons.join('; ')}` : ''}`];
  });

  /** Compensations, undone in reverse order (saga). */
  const compensations: { name: string; run: () => Promise<void> }[] = [];

  const changeMode = async (mode: PersistenceMode, reason: string) => {
    await barrier.changeMode({ ...common, mode, actor, reason, timeoutSeconds: input.barrierTimeoutSeconds });
    currentMode = mode;
    result.finalMode = mode;
    ctl.note(`mode → ${describeMode(mode)} (${reason})`);
  };

  const rollback = async (branch: string, cause: string, endedIn: PersistenceMode) => {
    ctl.setState('rolling-back', `${branch}: ${cause}`);
    const rec: RollbackRecord = { branch, cause, at: new Date().toISOString() };
    ctl.status.rollbacks.push(rec);
    await CancellationScope.nonCancellable(async () => {
      for (const c of [...compensations].reverse()) {
        await ctl.phase(`compensate: ${c.name}`, c.run, { finishing: true });
      }
      compensations.length = 0;
    });
    rec.endedInMode = describeMode(currentMode ?? endedIn);
    result.finalMode = currentMode ?? endedIn;
  };

  try {
    await ctl.runCancellable(async () => {
      // ── preflight ───────────────────────────────────────────────────────────────────────
      const pre = await ctl.phase('preflight', async () => {
        // A dry run changes nothing, not even the run registry.
        if (!input.dryRun) await short.registerRun({ ...common, runId: `${info.workflowId}/${info.runId}`, workflowId: info.workflowId, kind: 'productionCutover' });
        return short.preflight({ ...common, apps: input.apps });
      });
      instances = pre.instances.map((i) => ({ instanceId: i.instanceId, adminUrl: i.adminUrl }));
      startingMode = startingModeOf(pre);
      if (startingMode.persistence === 'postgres') {
        throw ApplicationFailure.nonRetryable(`${input.target} is already cut over (control row: postgres only, epoch ${pre.control?.epoch}); nothing to do`, 'PreflightFailed');
      }
      currentMode = startingMode;
      result.finalMode = startingMode;
      result.preflight = { schemaState: pre.schemaState, totalRecords: pre.totalRecords, control: pre.control, instances: instances.map((i) => i.instanceId) };
      ctl.note(`preflight: ${pre.instances.length} instances, ${pre.totalRecords} records over ${pre.months.length} months, schema ${pre.schemaState}`);

      if (input.dryRun) {
        await ctl.phase('backfill (dry run)', async () => {
          const plan = await scan.planBackfill({ apps: appsRef, instances });
          await runBackfill(plan.units, true);
        });
        result.outcome = 'dry-run';
        return;
      }

      // ── ensure schema ───────────────────────────────────────────────────────────────────
      await ctl.phase('ensure schema', () => short.ensureSchema(common));

      if (input.approvals.beforeBackfill) await ctl.gate('backfill', 'dual-write and the backfill start next');

      // ── enable dual-write with memory primary ───────────────────────────────────────────
      await ctl.phase('enable dual-write (memory primary)', async () => {
        compensations.push({ name: `restore ${describeMode(startingMode)}`, run: () => changeMode(startingMode, 'rollback: restore the starting mode') });
        await changeMode(MODES.dualWriteMemoryPrimary, 'runbook step 1: enable dual-write with memory primary');
      });
      const baselineStart = await short.metricsSnapshot({ apps: appsRef, instances });

      // ── backfill + verify (rollback to the starting mode if they cannot complete) ───────
      try {
        const plan = await ctl.phase('backfill', async () => {
          const p = await scan.planBackfill({ apps: appsRef, instances });
          await runBackfill(p.units, false);
          return p;
        });
        await ctl.phase('verify', () => verifyAll(plan.months, true));
      } catch (err) {
        if (ctl.isAbort(err)) throw err;
        throw new RollbackRequested('backfill-or-verify-incomplete', failureMessage(err));
      }

      // ── migrate: the safe migration again, then the runbook's step-4 checks ─────────────
      result.migrate = await ctl.phase('migrate', async () => {
        for (;;) {
          try {
            return await short.migrateAndCheck(common);
          } catch (err) {
            const t = failureType(err);
            if (t !== 'MigrationFailedError' && t !== 'MigrationChangedError') throw err;
            ctl.note(`migration failed (non-retryable): ${failureMessage(err)}`);
            await ctl.waitForOperator(`the safe migration failed: ${failureMessage(err)} — fix the cause, then resume with decision "retry", or abort`);
          }
        }
      });

      const baseline = await short.latencySince({ apps: appsRef, instances, since: baselineStart });
      result.monitoring.baselineP99Ms = baseline.p99Ms;

      // ── switch primary, monitoring window, with the "cutover has issues" branch ─────────
      if (input.approvals.beforeSwitchPrimary) await ctl.gate('switch-primary', 'Postgres becomes the primary store next');
      let previous: MetricsSnapshot = baseline.snapshot;
      // The stores were last known equal here (verify just passed). Dual-write failures counted
      // since then mean Postgres may have missed writes.
      let verified: MetricsSnapshot = baseline.snapshot;
      for (;;) {
        await ctl.phase('switch primary to postgres', async () => {
          compensations.push({ name: 'revert to dual-write with memory primary', run: () => changeMode(MODES.dualWriteMemoryPrimary, 'rollback: revert to dual-write with memory primary') });
          await changeMode(MODES.dualWritePostgresPrimary, 'runbook step 5: switch primary to Postgres');
        });
        previous = (await short.metricsSnapshot({ apps: appsRef, instances }));
        let unhealthyInARow = 0;
        try {
          ctl.offerGate('end-monitoring');
          const ended = await ctl.phase('monitoring', () =>
            ctl.window({
              minutes: input.monitoring.windowMinutes,
              tickMinutes: input.monitoring.healthCheckEveryMinutes,
              endEarly: () => !!ctl.approved('end-monitoring'),
              tick: async () => {
                const report = await scan.healthCheck({
                  ...common,
                  table: input.target,
                  apps: appsRef,
                  instances,
                  previous,
                  baselineP99Ms: baseline.p99Ms,
                  thresholds: {
                    maxDualWriteFailures: input.health.maxDualWriteFailures,
                    maxLatencyRatio: input.health.maxLatencyRatio,
                    latencyFloorMs: input.health.latencyFloorMs,
                    paritySample: input.health.paritySample,
                  },
                });
                previous = report.snapshot;
                lastHealth = report;
                result.monitoring.checks++;
                result.monitoring.lastHealth = withoutSnapshot(report);
                ctl.status.lastHealth = withoutSnapshot(report) as unknown as Record<string, unknown>;
                unhealthyInARow = report.verdict === 'unhealthy' ? unhealthyInARow + 1 : 0;
                if (unhealthyInARow >= input.health.unhealthyChecks) throw new MonitoringIssue(report);
                if (report.verdict === 'unhealthy') ctl.note(`health check ${result.monitoring.checks}: unhealthy (${report.reasons.join('; ')}); ${unhealthyInARow}/${input.health.unhealthyChecks} before rollback`);
                if (report.verdict === 'data-loss') await repairDataLoss(report);
              },
            }),
          );
          ctl.closeGate();
          result.monitoring.endedBy = ended === 'ended-early' ? `approval by ${ctl.approved('end-monitoring')?.operator}` : 'window elapsed';
          break;
        } catch (err) {
          ctl.closeGate();
          if (!(err instanceof MonitoringIssue)) throw err;
          // Runbook "If Cutover Has Issues": revert to dual-write with memory primary,
          // investigate, and let the operator decide.
          const cause = err.message;
          ctl.status.rollbacks.push({ branch: 'cutover-issues', cause, at: new Date().toISOString() });
          const revert = compensations.pop();
          await CancellationScope.nonCancellable(() => ctl.phase('revert to dual-write (memory primary)', () => revert!.run()));
          ctl.status.rollbacks[ctl.status.rollbacks.length - 1].endedInMode = describeMode(MODES.dualWriteMemoryPrimary);
          const findings = await ctl.phase('investigate', () => short.investigate({ connectionProfile: input.connectionProfile, table: input.target }));
          result.investigations.push(findings);
          const bad = findings.filter((f) => !f.ok).map((f) => `${f.check}: ${f.detail}${f.fix ? ` (fix: ${f.fix})` : ''}`);
          await ctl.waitForOperator(`cutover issues during monitoring (${cause}); investigation: ${bad.length ? bad.join('; ') : 'no fault found'} — resume with decision "retry" to switch the primary again, or abort`);
          if (patched(RECONCILE_BEFORE_RETRY_PATCH)) verified = await reconcileBeforeRetry(verified);
        }
      }

      // ── final cutover ───────────────────────────────────────────────────────────────────
      if (input.approvals.beforeFinalCutover) await ctl.gate('final-cutover', 'Postgres only; dual-write is disabled next');
      await ctl.phase('final cutover', () => changeMode(MODES.postgresOnly, 'runbook step 7: final cutover, Postgres only, dual-write disabled'));
      compensations.length = 0;
    });
  } catch (err) {
    if (ctl.isAbort(err)) {
      const by = ctl.aborted!;
      await rollback('operator-abort', `aborted by ${by.operator}: ${by.reason}`, startingMode);
      result.outcome = 'aborted';
      ctl.setState('aborted');
    } else if (err instanceof RollbackRequested) {
      await rollback(err.branch, err.why, startingMode);
      result.outcome = 'rolled-back';
      ctl.setState('rolled-back');
    } else if (compensations.length > 0) {
      await rollback('step-failed', failureMessage(err), startingMode);
      result.outcome = 'rolled-back';
      ctl.setState('rolled-back');
    } else {
      ctl.setState('failed', failureMessage(err));
      await CancellationScope.nonCancellable(() => short.finishRun({ connectionProfile: input.connectionProfile, runId: `${info.workflowId}/${info.runId}`, status: 'failed' })).catch(() => undefined);
      throw err;
    }
  }

  await CancellationScope.nonCancellable(() =>
    ctl.phase('summary', () =>
      short.finishRun({
        connectionProfile: input.connectionProfile,
        runId: `${info.workflowId}/${info.runId}`,
        status: result.outcome === 'completed' || result.outcome === 'dry-run' ? 'completed' : result.outcome === 'aborted' ? 'aborted' : 'rolled_back',
      }),
    { finishing: true }),
  );
  if (result.outcome === 'completed' || result.outcome === 'dry-run') ctl.setState('completed');
  ctl.note(`summary: ${result.outcome}; ${result.backfill.rows} rows back-filled at ${result.backfill.rowsPerSecond} rows/s; final mode ${describeMode(result.finalMode)}`);
  return result;

  // ── helpers (closures over the run's state) ─────────────────────────────────────────────

  async function runBackfill(units: (BackfillUnit & { count: number })[], dryRun: boolean): Promise<void> {
    const total = units.reduce((a, u) => a + u.count, 0);
    const t0 = Date.now();
    const queue = [...units];
    result.backfill.units = units.length;
    const perLaneRate = input.backfill.maxRowsPerSecond > 0 ? Math.max(1, Math.floor(input.backfill.maxRowsPerSecond / input.backfill.parallelism)) : 0;
    const report = () => {
      const secs = Math.max(0.001, (Date.now() - t0) / 1000);
      const rate = result.backfill.rows / secs;
      result.backfill.seconds = Math.round(secs * 10) / 10;
      result.backfill.rowsPerSecond = Math.round(rate);
      ctl.setProgress({
        done: result.backfill.rows,
        total: Math.max(total, result.backfill.rows),
        unit: 'rows',
        ratePerSec: rate,
        etaSeconds: rate > 0 ? Math.max(0, (total - result.backfill.rows) / rate) : undefined,
      });
    };
    report();
    const lane = async () => {
      for (let unit = queue.shift(); unit; unit = queue.shift()) {
        let cursor: { createdAt: string; id: string } | null = null;
        for (;;) {
          const r: BackfillChunkResult = await long.backfillChunk({
            connectionProfile: input.connectionProfile,
            table: input.target,
            apps: appsRef,
            unit,
            cursor,
            batchSize: input.backfill.batchSize,
            chunkRows: input.backfill.chunkRows,
            maxRowsPerSecond: perLaneRate,
            throttleWriteP99Ms: input.backfill.throttleWriteP99Ms,
            dryRun,
          });
          const b = result.backfill;
          b.rows += r.rows;
          b.written += r.written;
          b.skippedStale += r.skippedStale;
          b.skippedDeleted += r.skippedDeleted;
          for (const p of r.partitionsCreated) if (!b.partitionsCreated.includes(p)) b.partitionsCreated.push(p);
          if (r.resumedFrom) b.resumedChunks++;
          report();
          if (!r.nextCursor) break;
          cursor = r.nextCursor;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(input.backfill.parallelism, Math.max(1, units.length)) }, lane));
    ctl.note(`backfill${dryRun ? ' (dry run)' : ''}: ${result.backfill.rows} rows in ${formatDuration(result.backfill.seconds)}`);
  }

  /** Verify every month; repair drifting months and re-verify, a bounded number of rounds. */
  async function verifyAll(months: { month: string; from: string; to: string }[], deleteExtras: boolean): Promise<void> {
    let pending = months;
    for (let round = 0; ; round++) {
      const repair = round < input.verify.maxRepairRounds;
      // Months are independent: two lanes at a time.
      const results: MonthParity[] = [];
      const queue = [...pending];
      const lane = async () => {
        for (let range = queue.shift(); range; range = queue.shift()) {
          results.push(await long.verifyMonth({ connectionProfile: input.connectionProfile, table: input.target, apps: appsRef, instances, range, repair, deleteExtras }));
          ctl.setProgress({ done: results.length, total: pending.length, unit: 'months' });
        }
      };
      await Promise.all([lane(), lane()]);
      results.sort((a, b) => a.month.localeCompare(b.month));
      for (const p of results) {
        const at = result.parity.findIndex((x) => x.month === p.month);
        // The month's latest parity, with every repair made to it during the run (a re-verify
        // that finds it equal must not erase what the previous round repaired).
        if (at >= 0) result.parity[at] = { ...p, repaired: result.parity[at].repaired + p.repaired };
        else result.parity.push(p);
      }
      const drifting = results.filter((p) => !p.match);
      if (drifting.length === 0) return;
      ctl.note(`verify round ${round + 1}: ${drifting.length} month(s) drift (${drifting.map((d) => d.month).join(', ')})${repair ? '; repaired, re-verifying' : ''}`);
      if (!repair) {
        throw ApplicationFailure.nonRetryable(`parity cannot be reached for ${drifting.map((d) => d.month).join(', ')} after ${input.verify.maxRepairRounds} repair rounds`, 'ParityMismatch');
      }
      pending = months.filter((m) => drifting.some((d) => d.month === m.month));
    }
  }

  /**
   * Before the primary is switched again after "cutover has issues": while memory was primary,
   * a Postgres write that failed was counted in dual_write_failures_total and left Postgres
   * behind. Switching back then would serve those records stale, and a sampled check may never
   * notice. So while failures are counted since the stores were last known equal, verify every
   * month and repair Postgres from memory (rows only Postgres has are kept: they may be writes
   * acknowledged while it was primary), then look again: a pass is good when no failure was
   * counted while it ran. Returns the new point where the stores are known equal.
   */
  async function reconcileBeforeRetry(since: MetricsSnapshot): Promise<MetricsSnapshot> {
    let from = since;
    for (let pass = 1; ; pass++) {
      const now = await short.metricsSnapshot({ apps: appsRef, instances });
      const failures = failuresBetween(from, now);
      if (failures === 0) {
        ctl.note(pass === 1 ? 'retry: no dual-write failure since the last verify; the stores are still equal' : 'retry: no dual-write failure during the verify; Postgres is caught up');
        return now;
      }
      const counted = failures > 0 ? `${failures} dual-write failure(s)` : 'an instance restart (its failure count is unknown)';
      if (pass > input.verify.maxRepairRounds + 1) {
        await ctl.waitForOperator(`Postgres still fails writes: ${counted} while the stores were being verified — fix Postgres, then resume with decision "retry" to verify again, or abort`);
        pass = 0; // `from` stays: those failures are still to be repaired
        continue;
      }
      ctl.note(`retry: ${counted} ${pass === 1 ? 'since the last verify' : 'during the verify'}; verifying and repairing Postgres from memory before switching the primary again`);
      await ctl.phase('verify and repair before switching again', async () => {
        const p = await scan.planBackfill({ apps: appsRef, instances });
        await verifyAll(p.months, false);
      });
      from = now;
    }
  }

  /** Runbook "If data loss detected": keep dual-write, re-run the backfill from memory, verify. */
  async function repairDataLoss(report: HealthReport): Promise<void> {
    const cause = report.reasons.join('; ');
    const rec: RollbackRecord = { branch: 'data-loss', cause, at: new Date().toISOString() };
    ctl.status.rollbacks.push(rec);
    await ctl.phase('re-run backfill from memory', async () => {
      const p = await scan.planBackfill({ apps: appsRef, instances });
      await runBackfill(p.units, false);
      await verifyAll(p.months, false);
    });
    rec.endedInMode = describeMode(currentMode ?? MODES.dualWritePostgresPrimary);
    ctl.status.phase = 'monitoring';
    ctl.setState('running');
  }
}

/** Marks runs that verify the stores before switching the primary again after cutover issues. */
export const RECONCILE_BEFORE_RETRY_PATCH = 'reconcile-before-retry';

/**
 * dual_write_failures_total counted across all instances between two snapshots; -1 when an
 * instance's counter went backwards or an instance is new (a restart: the count is unknown).
 */
function failuresBetween(prev: MetricsSnapshot, cur: MetricsSnapshot): number {
  let total = 0;
  for (const c of cur.instances) {
    const p = prev.instances.find((x) => x.instanceId === c.instanceId);
    if (!p || c.failures < p.failures) return -1;
    total += c.failures - p.failures;
  }
  return total;
}

function withoutSnapshot(r: HealthReport): Omit<HealthReport, 'snapshot'> {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { snapshot, ...rest } = r;
  return rest;
}

function startingModeOf(pre: PreflightResult): PersistenceMode {
  if (!pre.control) return MODES.memoryOnly;
  const c = pre.control;
  if (c.persistence === 'memory') return MODES.memoryOnly;
  if (c.persistence === 'dual-write') return c.primary === 'postgres' ? MODES.dualWritePostgresPrimary : MODES.dualWriteMemoryPrimary;
  return MODES.postgresOnly;
}

export function describeMode(m: PersistenceMode): string {
  if (m.persistence === 'dual-write') return `dual-write, ${m.primary} primary`;
  return `${m.persistence} only`;
}
