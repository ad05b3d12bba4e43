import { CancellationScope, condition, isCancellation, patched, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/common';
import type { OperatorAction, Progress, RecordedDecision, RollbackRecord, RunStatus } from '../types';
import { RunMetrics } from './metrics';
import { CUTOVER_KIND, CUTOVER_PHASE, CUTOVER_STATE, CUTOVER_TARGET } from '../../src/shared/search-attributes';
import { PATCHES } from '../patches';
import { installHandlers, newOperatorState } from './run-handlers';
import { renderDetails } from './run-details';
import type { CompensationFailure } from './saga';
import { isHandOver } from './continuation';

/** Thrown inside the run when an operator aborts; the workflow catches it and compensates. */
export const ABORTED_BY_OPERATOR = 'AbortedByOperator';

/**
 * The operator-facing state machine every cutover workflow shares: phases with timings,
 * approval gates, pause/resume, abort, window extensions, progress and the UI's current
 * details. Deterministic (workflow code). Message handlers are in run-handlers.ts, the
 * Markdown of the current details in run-details.ts; workflows read `status` and change it
 * only through the methods here.
 */
export class RunController {
  /** Read it; change it only through the methods below. */
  readonly status: RunStatus;
  private readonly ops = newOperatorState();
  private detailsExtra: () => string[] = () => [];
  private readonly metrics = new RunMetrics();
  /** Phases a previous run handed over in the middle of: the next phase() of the name goes on in it. */
  private reopen: RunStatus['phases'] = [];
  /** The previous run handed over inside a window: the next window() goes on with the carried extensions. */
  private carriedWindow = false;

  /**
   * `gates`: the gates the run will open, announced before the handlers are installed — an
   * approval sent right after the start is delivered in the first activation, before any
   * workflow code runs, and must already find them.
   *
   * `carried`: the state a previous run handed over (continuation.ts). It is restored before the
   * handlers are installed: a message that arrived during the hand-over is delivered in the first
   * activation, the moment its handler is installed, and must be validated against the carried
   * state (gate conditions, a carried pause, the window in progress), never an empty one. Runs
   * recorded before PATCHES.restoreBeforeHandlers replay the old order (handlers, then restore).
   */
  constructor(workflowType: string, target: string, kind: string, gates: string[] = [], carried?: ControllerSnapshot) {
    this.status = { workflowType, target, phase: 'starting', state: 'running', phases: [], decisions: [], rollbacks: [], notes: [] };
    this.ops.upcoming = [...gates];
    if (gates.length) this.status.upcomingGates = [...gates];
    upsertSearchAttributes([
      { key: CUTOVER_TARGET, value: target },
      { key: CUTOVER_KIND, value: kind },
      { key: CUTOVER_PHASE, value: 'starting' },
      { key: CUTOVER_STATE, value: 'running' },
    ] as never);
    const restoreFirst = carried !== undefined && patched(PATCHES.restoreBeforeHandlers.id);
    if (carried && restoreFirst) this.restore(carried);
    installHandlers(this.status, this.ops, (action, a, extra) => this.record(action, a, extra));
    if (carried && !restoreFirst) this.restore(carried);
  }

  /**
   * What a hand-over carries to the next run (continuation.ts): the status an operator sees and
   * the gates' state. Notes are capped: the oldest are left in the earlier runs' histories.
   */
  snapshot(): ControllerSnapshot {
    const st = this.status;
    const notes = st.notes.length > MAX_CARRIED_NOTES ? [`(${st.notes.length - MAX_CARRIED_NOTES} earlier notes are in the earlier runs' histories)`, ...st.notes.slice(-MAX_CARRIED_NOTES)] : [...st.notes];
    return {
      phase: st.phase,
      phases: st.phases.map((p) => ({ ...p })),
      decisions: [...st.decisions],
      rollbacks: [...st.rollbacks],
      notes,
      compensationFailures: st.compensationFailures,
      lastHealth: st.lastHealth,
      approvals: [...this.ops.approvals],
      passed: [...this.ops.passed],
      upcoming: [...this.ops.upcoming],
      conditions: [...this.ops.conditions],
      paused: this.ops.paused,
      // A hand-over from inside a window (after a tick): the next run is in it from its first activation.
      ...(this.ops.inWindow ? { window: { extraMinutes: this.ops.extraMinutes, ...(this.ops.openGate ? { openGate: this.ops.openGate } : {}) } } : {}),
    };
  }

  /**
   * Takes over the state a previous run carried. Its open phase (the one the hand-over
   * interrupted) is reopened by the next `phase()` of the same name instead of starting anew,
   * so the chain's phases read as one run's. Called by the constructor (`carried`).
   */
  private restore(s: ControllerSnapshot): void {
    const st = this.status;
    st.phase = s.phase;
    st.phases.splice(0, st.phases.length, ...s.phases);
    this.reopen = st.phases.filter((p) => !p.endedAt && p.outcome === undefined);
    st.decisions.splice(0, st.decisions.length, ...s.decisions);
    st.rollbacks.splice(0, st.rollbacks.length, ...s.rollbacks);
    st.notes.splice(0, st.notes.length, ...s.notes);
    if (s.compensationFailures) st.compensationFailures = s.compensationFailures;
    if (s.lastHealth) st.lastHealth = s.lastHealth;
    // Approvals that arrived in this run before restore (first activation) are kept.
    const early = [...this.ops.approvals];
    this.ops.approvals = new Map([...s.approvals, ...early]);
    this.ops.passed = new Set(s.passed);
    this.ops.upcoming = s.upcoming.filter((g) => !this.ops.passed.has(g));
    this.ops.conditions = new Map(s.conditions);
    this.ops.paused = this.ops.paused || s.paused;
    if (s.window) {
      // The window the previous run handed over in: an extension, or an approval of the gate that
      // ends it (end-monitoring, end-retention), is accepted from the first activation on.
      this.ops.inWindow = true;
      this.ops.extraMinutes = s.window.extraMinutes;
      if (s.window.openGate) this.ops.openGate = s.window.openGate;
      this.carriedWindow = true;
    }
    st.upcomingGates = [...this.ops.upcoming];
    st.gateConditions = [...this.ops.conditions].map(([g, c]) => ({ gate: g, ...c }));
    upsertSearchAttributes([{ key: CUTOVER_PHASE, value: s.phase }] as never);
    this.render();
  }

  get aborted(): OperatorAction | undefined {
    return this.ops.abortAction;
  }

  /** Extra lines for the current details (e.g. the last health check). */
  setDetailsExtra(fn: () => string[]): void {
    this.detailsExtra = fn;
    this.render();
  }

  private now(): string {
    return new Date().toISOString(); // workflow Date is deterministic
  }

  /** Records an operator's decision a workflow-specific handler carried out (e.g. forgetInstance). */
  recordDecision(action: RecordedDecision['action'], a: OperatorAction, extra: Partial<RecordedDecision> = {}): RecordedDecision {
    return this.record(action, a, extra);
  }

  private record(action: RecordedDecision['action'], a: OperatorAction, extra: Partial<RecordedDecision> = {}): RecordedDecision {
    const d: RecordedDecision = { action, operator: a.operator.trim(), reason: a.reason.trim(), at: this.now(), ...extra };
    this.status.decisions.push(d);
    this.render();
    return d;
  }

  /**
   * Runs `body` in a cancellable scope that an operator abort cancels. Returns its result or
   * throws; `isAbort(err)` tells an abort from a failure.
   */
  async runCancellable<T>(body: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    this.ops.mainScope = scope;
    try {
      return await scope.run(body);
    } finally {
      this.ops.mainScope = undefined;
    }
  }

  isAbort(err: unknown): boolean {
    return this.ops.abortAction !== undefined && (isCancellation(err) || (err instanceof ApplicationFailure && err.type === ABORTED_BY_OPERATOR));
  }

  private throwIfAborted(): void {
    if (this.ops.abortAction) throw ApplicationFailure.nonRetryable(`aborted by ${this.ops.abortAction.operator}: ${this.ops.abortAction.reason}`, ABORTED_BY_OPERATOR);
  }

  /**
   * Runs one phase: waits while paused, records timings, updates search attributes and details.
   * `finishing` phases (compensations, the summary) run even after an abort and ignore pause.
   */
  async phase<T>(name: string, fn: () => Promise<T>, opts: { finishing?: boolean } = {}): Promise<T> {
    if (!opts.finishing) this.throwIfAborted();
    // A phase a hand-over interrupted (carried open) goes on under its first start.
    const carried = this.reopen.find((p) => p.phase === name);
    // A pause takes effect before the next phase. A carried phase is not a new one: it goes on
    // as it would have without the hand-over (a monitoring window keeps its checks and its clock).
    if (this.ops.paused && !opts.finishing && !(carried && patched(PATCHES.carriedPhaseGoesOnWhenPaused.id))) {
      this.setState('paused', `paused before ${name}`);
      await condition(() => !this.ops.paused || !!this.ops.abortAction);
      this.throwIfAborted();
      this.setState('running');
    }
    if (carried) this.reopen = this.reopen.filter((p) => p !== carried);
    const entry = carried ?? ({ phase: name, startedAt: this.now() } as RunStatus['phases'][number]);
    if (!carried) this.status.phases.push(entry);
    this.status.phase = name;
    this.status.progress = undefined;
    upsertSearchAttributes([{ key: CUTOVER_PHASE, value: name }] as never);
    this.render();
    try {
      const r = await fn();
      entry.endedAt = this.now();
      entry.outcome = 'ok';
      return r;
    } catch (err) {
      if (isHandOver(err)) throw err; // the phase goes on in the next run
      entry.endedAt = this.now();
      entry.outcome = this.isAbort(err) ? 'aborted' : `failed: ${(err as Error).message}`.slice(0, 300);
      throw err;
    } finally {
      this.render();
    }
  }

  /**
   * Announces the gates this run will open, in order: an operator may approve one ahead of
   * time (a pre-approval). Call again when the plan adds one.
   */
  announceGates(gates: string[]): void {
    this.ops.upcoming = gates.filter((g) => !this.ops.passed.has(g));
    this.status.upcomingGates = [...this.ops.upcoming];
    this.render();
  }

  /**
   * Waits for an operator's approval of `gate` (a pre-approval counts). Returns the recorded
   * decision. `until`: the wait ends at `ms` (workflow time) with `late()` thrown (one timer, set
   * only when given: a gate without it adds no command).
   */
  async gate(gate: string, why: string, until?: { ms: number; late: () => Error }): Promise<RecordedDecision> {
    this.throwIfAborted();
    // A gate opened again (skip-quarantined before the final cutover) needs a new approval.
    if (this.ops.passed.has(gate)) this.ops.approvals.delete(gate);
    this.ops.openGate = gate;
    this.status.waitingOn = `approval of "${gate}": ${why}`;
    this.setState('waiting-for-approval');
    const done = () => this.ops.approvals.has(gate) || !!this.ops.abortAction;
    const inTime = until ? await condition(done, Math.max(1, until.ms - Date.now())) : (await condition(done), true);
    this.ops.openGate = undefined;
    this.status.waitingOn = undefined;
    this.throwIfAborted();
    if (!inTime) {
      this.setState('running');
      throw until!.late();
    }
    this.markPassed(gate);
    this.setState('running');
    return this.ops.approvals.get(gate)!;
  }

  private markPassed(gate: string): void {
    this.ops.passed.add(gate);
    this.ops.conditions.delete(gate);
    this.ops.upcoming = this.ops.upcoming.filter((g) => g !== gate);
    this.status.upcomingGates = [...this.ops.upcoming];
    this.status.gateConditions = [...this.ops.conditions].map(([g, c]) => ({ gate: g, ...c }));
  }

  /**
   * From now on an approval of `gate` must name one of `mustName` in its reason (e.g. the
   * drift retention saw); an approval given before this no longer counts. Returns the
   * approval it voided.
   */
  requireNaming(gate: string, mustName: string[], why: string): RecordedDecision | undefined {
    this.ops.conditions.set(gate, { mustName, why });
    this.status.gateConditions = [...this.ops.conditions].map(([g, c]) => ({ gate: g, ...c }));
    const voided = this.ops.approvals.get(gate);
    if (voided) {
      this.ops.approvals.delete(gate);
      this.note(`the approval of ${gate} by ${voided.operator} (${voided.at}) no longer counts: ${why}; the run waits for a new approval that names it`);
    }
    this.render();
    return voided;
  }

  /** Was `gate` approved (without waiting)? */
  approved(gate: string): RecordedDecision | undefined {
    return this.ops.approvals.get(gate);
  }

  /** Opens `gate` without blocking: an approval ends e.g. a window early. A past approval of it no longer counts. */
  offerGate(gate: string, opts: { keepApproval?: boolean } = {}): void {
    if (!opts.keepApproval) this.ops.approvals.delete(gate);
    this.ops.openGate = gate;
    this.render();
  }

  closeGate(): void {
    if (this.ops.openGate) this.markPassed(this.ops.openGate);
    this.ops.openGate = undefined;
  }

  /** Stops and waits for an operator: resume with decision retry/continue, or abort. */
  /** `until`: as gate()'s (one timer, only when given). */
  async waitForOperator(why: string, until?: { ms: number; late: () => Error }): Promise<'retry' | 'continue'> {
    this.throwIfAborted();
    this.ops.awaitingDecision = true;
    this.ops.decision = undefined;
    this.status.waitingOn = `operator decision: ${why} (resume with decision "retry" or "continue", or abort)`;
    this.setState('waiting-for-operator');
    const done = () => this.ops.decision !== undefined || !!this.ops.abortAction;
    const inTime = until ? await condition(done, Math.max(1, until.ms - Date.now())) : (await condition(done), true);
    this.ops.awaitingDecision = false;
    this.status.waitingOn = undefined;
    this.throwIfAborted();
    if (!inTime) {
      this.setState('running');
      throw until!.late();
    }
    this.setState('running');
    return this.ops.decision!;
  }

  /**
   * A durable window (monitoring, retention) of `minutes`, extendable by operators; `tick`
   * runs every `tickMinutes`; `endEarly` ends it (e.g. an approval). Returns how it ended.
   *
   * Replay safety: what happens after a wait (tick, or end of the window) is decided from
   * which wait it was (the timer was set for the next tick or for the window's end), never
   * from Date.now() after the timer fired. Workflow time is only as good as the task that
   * carries it: after a workflow task timed out (a worker killed between two tasks) a new
   * worker may see an older time than a later replay does, and a branch on it would be a
   * nondeterminism error (seen under chaos: the tick's activity replaced by a second timer).
   * Date.now() only sizes the timers and the progress, which replay tolerates.
   */
  async window(opts: {
    minutes: number;
    tickMinutes: number;
    tick: (n: number) => Promise<void>;
    endEarly?: () => boolean;
    /**
     * The window's own state, kept up to date (start, ticks done, extensions): a window a
     * previous run began passes what it carried and goes on where it stopped.
     */
    state?: WindowState;
    /** After each tick (a safe point: e.g. a hand-over to the next run). */
    afterTick?: () => Promise<void>;
  }): Promise<'elapsed' | 'ended-early'> {
    const state = opts.state ?? ({} as WindowState);
    this.ops.inWindow = true;
    // A window carried by the controller (restore) already holds its extensions, with any that arrived since.
    if (this.carriedWindow) this.carriedWindow = false;
    else this.ops.extraMinutes = state.extraMinutes ?? 0;
    const startMs = (state.startMs ??= Date.now());
    state.extraMinutes = this.ops.extraMinutes;
    const tickMs = opts.tickMinutes * 60_000;
    const replaySafe = patched(PATCHES.windowByTimer.id);
    let n = state.ticks ?? 0;
    try {
      for (;;) {
        this.throwIfAborted();
        const totalMs = (opts.minutes + this.ops.extraMinutes) * 60_000;
        const endMs = startMs + totalMs;
        // The next wait ends at a tick when one is due before the window's end.
        const tickNext = (n + 1) * tickMs <= totalMs;
        const waitUntil = tickNext ? startMs + (n + 1) * tickMs : endMs;
        const elapsed = Date.now() - startMs;
        this.status.progress = {
          done: Math.round(elapsed / 6_000) / 10, // minutes, one decimal
          total: opts.minutes + this.ops.extraMinutes,
          unit: 'min',
          etaSeconds: Math.max(0, Math.round((endMs - Date.now()) / 1000)),
        };
        this.render();
        const extraBefore = this.ops.extraMinutes;
        const woke = await condition(
          () => (opts.endEarly?.() ?? false) || !!this.ops.abortAction || this.ops.extraMinutes !== extraBefore,
          Math.max(1, waitUntil - Date.now()),
        );
        this.throwIfAborted();
        if (woke && opts.endEarly?.()) return 'ended-early';
        if (woke) continue; // extended: recompute the end
        if (!replaySafe) {
          // Histories recorded before the patch replay the way they ran.
          if (Date.now() >= startMs + (n + 1) * tickMs) {
            n++;
            await opts.tick(n);
          }
          if (Date.now() >= startMs + (opts.minutes + this.ops.extraMinutes) * 60_000) return 'elapsed';
          continue;
        }
        if (!tickNext) return 'elapsed';
        n++;
        await opts.tick(n);
        state.ticks = n;
        state.extraMinutes = this.ops.extraMinutes;
        if (n * tickMs >= (opts.minutes + this.ops.extraMinutes) * 60_000) return 'elapsed'; // the tick fell on the end
        await opts.afterTick?.();
      }
    } finally {
      this.ops.inWindow = false;
    }
  }

  setProgress(p: Progress | undefined): void {
    this.status.progress = p;
    this.render();
  }

  note(line: string): void {
    this.status.notes.push(line);
    this.render();
  }

  setState(state: RunStatus['state'], note?: string): void {
    this.status.state = state;
    if (note) this.status.notes.push(note);
    upsertSearchAttributes([{ key: CUTOVER_STATE, value: state }] as never);
    this.render();
  }

  /** The UI's "current details" (workflows/common/run-details.ts). */
  render(): void {
    setCurrentDetails(renderDetails(this.status, this.ops.openGate, this.detailsExtra()));
    this.metrics.emit(this.status, this.ops.openGate);
  }

  /** Records that a rollback branch started; `rollbackEnded` records the mode it left. */
  recordRollback(branch: string, cause: string, endedInMode?: string): RollbackRecord {
    const rec: RollbackRecord = { branch, cause, at: this.now(), ...(endedInMode ? { endedInMode } : {}) };
    this.status.rollbacks.push(rec);
    return rec;
  }

  rollbackEnded(rec: RollbackRecord, endedInMode: string): void {
    rec.endedInMode = endedInMode;
  }

  /** Undos that failed: the status (and the UI) says what to do by hand. */
  recordCompensationFailures(failed: CompensationFailure[]): void {
    if (failed.length === 0) return;
    this.status.compensationFailures = [...(this.status.compensationFailures ?? []), ...failed];
    this.render();
  }

  /** The last health or parity check, shown by the status query. */
  setLastHealth(h: Record<string, unknown>): void {
    this.status.lastHealth = h;
  }

  /**
   * Back in the phase a nested branch interrupted (e.g. monitoring after the data-loss repair).
   * The search attribute keeps the nested phase's name, as runs recorded before this API did.
   */
  backInPhase(name: string): void {
    this.status.phase = name;
  }

  workflowId(): string {
    return workflowInfo().workflowId;
  }
}

/** Notes a hand-over carries (the rest stay in the earlier runs' histories). */
const MAX_CARRIED_NOTES = 200;

/** A window's progress, carried across a hand-over. */
export interface WindowState {
  startMs?: number;
  ticks?: number;
  extraMinutes?: number;
}

/** RunController's part of a hand-over (continuation.ts). */
export interface ControllerSnapshot {
  phase: string;
  phases: RunStatus['phases'];
  decisions: RecordedDecision[];
  rollbacks: RollbackRecord[];
  notes: string[];
  compensationFailures?: RunStatus['compensationFailures'];
  lastHealth?: Record<string, unknown>;
  approvals: [string, RecordedDecision][];
  passed: string[];
  upcoming: string[];
  conditions: [string, { mustName: string[]; why: string }][];
  paused: boolean;
  /** Set when the run handed over inside a window (runs before issue 24 did not carry it). */
  window?: { extraMinutes: number; openGate?: string };
}
