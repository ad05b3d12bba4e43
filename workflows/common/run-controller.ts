import {
  CancellationScope,
  condition,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/common';
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  extendUpdate,
  pauseUpdate,
  resumeUpdate,
  statusQuery,
  validateOperatorAction,
  type AckResult,
} from '../messages';
import type { OperatorAction, Progress, RecordedDecision, RunStatus } from '../types';
import { RunMetrics } from './metrics';
import { CUTOVER_KIND, CUTOVER_PHASE, CUTOVER_STATE, CUTOVER_TARGET } from '../../src/shared/search-attributes';

/** Thrown inside the run when an operator aborts; the workflow catches it and compensates. */
export const ABORTED_BY_OPERATOR = 'AbortedByOperator';

/** Marks runs whose window() decides from which timer fired, not from Date.now(). */
export const WINDOW_BY_TIMER_PATCH = 'window-decides-by-timer';

/**
 * The operator-facing state machine every cutover workflow shares: phases with timings,
 * approval gates, pause/resume, abort, window extensions, progress and the UI's current
 * details. Deterministic (workflow code).
 */
export class RunController {
  readonly status: RunStatus;
  private paused = false;
  private abortAction: OperatorAction | undefined;
  private openGate: string | undefined;
  private approvals = new Map<string, RecordedDecision>();
  private decision: 'retry' | 'continue' | undefined;
  private awaitingDecision = false;
  private extraMinutes = 0;
  private mainScope: CancellationScope | undefined;
  private detailsExtra: () => string[] = () => [];
  private readonly metrics = new RunMetrics();

  constructor(workflowType: string, target: string, kind: string) {
    this.status = { workflowType, target, phase: 'starting', state: 'running', phases: [], decisions: [], rollbacks: [], notes: [] };
    upsertSearchAttributes([
      { key: CUTOVER_TARGET, value: target },
      { key: CUTOVER_KIND, value: kind },
      { key: CUTOVER_PHASE, value: 'starting' },
      { key: CUTOVER_STATE, value: 'running' },
    ] as never);
    this.installHandlers();
  }

  get aborted(): OperatorAction | undefined {
    return this.abortAction;
  }

  /** Extra lines for the current details (e.g. the last health check). */
  setDetailsExtra(fn: () => string[]): void {
    this.detailsExtra = fn;
    this.render();
  }

  private now(): string {
    return new Date().toISOString(); // workflow Date is deterministic
  }

  private record(action: RecordedDecision['action'], a: OperatorAction, extra: Partial<RecordedDecision> = {}): RecordedDecision {
    const d: RecordedDecision = { action, operator: a.operator.trim(), reason: a.reason.trim(), at: this.now(), ...extra };
    this.status.decisions.push(d);
    this.render();
    return d;
  }

  private ack(accepted: boolean, message: string): AckResult {
    return { accepted, phase: this.status.phase, message };
  }

  private installHandlers(): void {
    setHandler(statusQuery, () => this.status, { description: 'Phase, progress, open gate, decisions, rollbacks and the last health check.' });

    const approve = (a: OperatorAction & { gate?: string }): AckResult => {
      const gate = a.gate ?? this.openGate;
      if (!gate) return this.ack(false, 'no approval gate is open');
      this.approvals.set(gate, this.record('approve', a, { gate }));
      return this.ack(true, `approved ${gate}`);
    };
    setHandler(approveUpdate, approve, {
      description: 'Approve the open gate (or `gate`). Input: {"operator": "...", "reason": "...", "gate"?: "..."}.',
      validator: (a) => {
        validateOperatorAction(a);
        if (a.gate !== undefined && typeof a.gate !== 'string') throw new Error('gate: must be a string naming a gate');
        if (!this.openGate && !a.gate) throw new Error(`no approval gate is open (phase ${this.status.phase}); nothing to approve`);
      },
    });
    setHandler(approveSignal, (a) => {
      try {
        validateOperatorAction(a);
        approve(a);
      } catch (err) {
        this.status.notes.push(`ignored approve signal: ${(err as Error).message}`);
      }
    }, { description: 'Signal form of approve: {"operator": "...", "reason": "...", "gate"?: "..."}.' });

    setHandler(pauseUpdate, (a) => {
      this.paused = true;
      this.record('pause', a);
      return this.ack(true, 'the run pauses before its next phase');
    }, {
      description: 'Pause before the next phase: {"operator": "...", "reason": "..."}.',
      validator: (a) => {
        validateOperatorAction(a);
        if (this.paused) throw new Error('the run is already paused');
      },
    });

    setHandler(resumeUpdate, (a) => {
      if (this.awaitingDecision) this.decision = a.decision ?? 'retry';
      this.paused = false;
      this.record('resume', a, a.decision ? { detail: a.decision } : {});
      return this.ack(true, this.awaitingDecision ? `decision: ${this.decision}` : 'resumed');
    }, {
      description: 'Resume a paused run, or answer a run waiting for an operator: {"operator": "...", "reason": "...", "decision"?: "retry"|"continue"}.',
      validator: (a) => {
        validateOperatorAction(a);
        if (a.decision !== undefined && a.decision !== 'retry' && a.decision !== 'continue') throw new Error('decision: must be "retry" or "continue"');
        if (!this.paused && !this.awaitingDecision) throw new Error('the run is neither paused nor waiting for an operator');
      },
    });

    const abort = (a: OperatorAction) => {
      if (this.abortAction) return;
      this.abortAction = a;
      this.record('abort', a);
      this.mainScope?.cancel();
    };
    setHandler(abortUpdate, (a) => {
      abort(a);
      return this.ack(true, 'aborting: compensations run in reverse order');
    }, {
      description: 'Abort the run; completed steps are compensated in reverse order: {"operator": "...", "reason": "..."}.',
      validator: (a) => {
        validateOperatorAction(a);
        if (this.abortAction) throw new Error('the run is already aborting');
        if (['completed', 'rolled-back', 'aborted', 'failed'].includes(this.status.state)) throw new Error(`the run has ended (${this.status.state})`);
      },
    });
    setHandler(abortSignal, (a) => {
      try {
        validateOperatorAction(a);
        abort(a);
      } catch (err) {
        this.status.notes.push(`ignored abort signal: ${(err as Error).message}`);
      }
    }, { description: 'Signal form of abort: {"operator": "...", "reason": "..."}.' });

    setHandler(extendUpdate, (a) => {
      this.extraMinutes += a.minutes;
      this.record('extend', a, { detail: `+${a.minutes} min` });
      return this.ack(true, `window extended by ${a.minutes} min`);
    }, {
      description: 'Extend the current monitoring or retention window: {"operator": "...", "reason": "...", "minutes": 60}.',
      validator: (a) => {
        validateOperatorAction(a);
        if (typeof a.minutes !== 'number' || !Number.isInteger(a.minutes) || a.minutes < 1 || a.minutes > 7 * 24 * 60) {
          throw new Error('minutes: must be an integer from 1 to 10080 (7 days)');
        }
        if (!this.inWindow) throw new Error(`no window is open to extend (phase ${this.status.phase})`);
      },
    });
  }

  private inWindow = false;

  /**
   * Runs `body` in a cancellable scope that an operator abort cancels. Returns its result or
   * throws; `isAbort(err)` tells an abort from a failure.
   */
  async runCancellable<T>(body: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    this.mainScope = scope;
    try {
      return await scope.run(body);
    } finally {
      this.mainScope = undefined;
    }
  }

  isAbort(err: unknown): boolean {
    return this.abortAction !== undefined && (isCancellation(err) || (err instanceof ApplicationFailure && err.type === ABORTED_BY_OPERATOR));
  }

  private throwIfAborted(): void {
    if (this.abortAction) throw ApplicationFailure.nonRetryable(`aborted by ${this.abortAction.operator}: ${this.abortAction.reason}`, ABORTED_BY_OPERATOR);
  }

  /**
   * Runs one phase: waits while paused, records timings, updates search attributes and details.
   * `finishing` phases (compensations, the summary) run even after an abort and ignore pause.
   */
  async phase<T>(name: string, fn: () => Promise<T>, opts: { finishing?: boolean } = {}): Promise<T> {
    if (!opts.finishing) this.throwIfAborted();
    if (this.paused && !opts.finishing) {
      this.setState('paused', `paused before ${name}`);
      await condition(() => !this.paused || !!this.abortAction);
      this.throwIfAborted();
      this.setState('running');
    }
    const entry = { phase: name, startedAt: this.now() } as RunStatus['phases'][number];
    this.status.phases.push(entry);
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
      entry.endedAt = this.now();
      entry.outcome = this.isAbort(err) ? 'aborted' : `failed: ${(err as Error).message}`.slice(0, 300);
      throw err;
    } finally {
      this.render();
    }
  }

  /** Waits for an operator's approval of `gate`. Returns the recorded decision. */
  async gate(gate: string, why: string): Promise<RecordedDecision> {
    this.throwIfAborted();
    this.openGate = gate;
    this.status.waitingOn = `approval of "${gate}": ${why}`;
    this.setState('waiting-for-approval');
    await condition(() => this.approvals.has(gate) || !!this.abortAction);
    this.openGate = undefined;
    this.status.waitingOn = undefined;
    this.throwIfAborted();
    this.setState('running');
    return this.approvals.get(gate)!;
  }

  /** Was `gate` approved (without waiting)? */
  approved(gate: string): RecordedDecision | undefined {
    return this.approvals.get(gate);
  }

  /** Opens `gate` without blocking: an approval ends e.g. a window early. A past approval of it no longer counts. */
  offerGate(gate: string): void {
    this.approvals.delete(gate);
    this.openGate = gate;
    this.render();
  }

  closeGate(): void {
    this.openGate = undefined;
  }

  /** Stops and waits for an operator: resume with decision retry/continue, or abort. */
  async waitForOperator(why: string): Promise<'retry' | 'continue'> {
    this.throwIfAborted();
    this.awaitingDecision = true;
    this.decision = undefined;
    this.status.waitingOn = `operator decision: ${why} (resume with decision "retry" or "continue", or abort)`;
    this.setState('waiting-for-operator');
    await condition(() => this.decision !== undefined || !!this.abortAction);
    this.awaitingDecision = false;
    this.status.waitingOn = undefined;
    this.throwIfAborted();
    this.setState('running');
    return this.decision!;
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
  }): Promise<'elapsed' | 'ended-early'> {
    this.inWindow = true;
    this.extraMinutes = 0;
    const startMs = Date.now();
    const tickMs = opts.tickMinutes * 60_000;
    const replaySafe = patched(WINDOW_BY_TIMER_PATCH);
    let n = 0;
    try {
      for (;;) {
        this.throwIfAborted();
        const totalMs = (opts.minutes + this.extraMinutes) * 60_000;
        const endMs = startMs + totalMs;
        // The next wait ends at a tick when one is due before the window's end.
        const tickNext = (n + 1) * tickMs <= totalMs;
        const waitUntil = tickNext ? startMs + (n + 1) * tickMs : endMs;
        const elapsed = Date.now() - startMs;
        this.status.progress = {
          done: Math.round(elapsed / 6_000) / 10, // minutes, one decimal
          total: opts.minutes + this.extraMinutes,
          unit: 'min',
          etaSeconds: Math.max(0, Math.round((endMs - Date.now()) / 1000)),
        };
        this.render();
        const extraBefore = this.extraMinutes;
        const woke = await condition(
          () => (opts.endEarly?.() ?? false) || !!this.abortAction || this.extraMinutes !== extraBefore,
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
          if (Date.now() >= startMs + (opts.minutes + this.extraMinutes) * 60_000) return 'elapsed';
          continue;
        }
        if (!tickNext) return 'elapsed';
        n++;
        await opts.tick(n);
        if (n * tickMs >= (opts.minutes + this.extraMinutes) * 60_000) return 'elapsed'; // the tick fell on the end
      }
    } finally {
      this.inWindow = false;
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

  /** The UI's "current details": markdown with phase, progress, ETA and health. */
  render(): void {
    const s = this.status;
    const lines = [`**${s.workflowType}** on \`${s.target}\` — phase **${s.phase}** (${s.state})`];
    if (s.progress) {
      const p = s.progress;
      const pct = p.total > 0 ? Math.min(100, Math.floor((p.done / p.total) * 100)) : 0;
      const bar = '█'.repeat(Math.floor(pct / 5)) + '░'.repeat(20 - Math.floor(pct / 5));
      lines.push('', `\`${bar}\` ${pct}% — ${p.done}/${p.total} ${p.unit}` +
        (p.ratePerSec !== undefined ? ` — ${Math.round(p.ratePerSec)} ${p.unit}/s` : '') +
        (p.etaSeconds !== undefined ? ` — ETA ${formatDuration(p.etaSeconds)}` : ''));
    }
    if (s.waitingOn) lines.push('', `⏸ waiting for ${s.waitingOn}`);
    if (this.openGate && !s.waitingOn) lines.push('', `An approval of gate \`${this.openGate}\` ends this phase early.`);
    const extra = this.detailsExtra();
    if (extra.length) lines.push('', ...extra);
    if (s.rollbacks.length) lines.push('', `Rollbacks: ${s.rollbacks.map((r) => `${r.branch} (${r.cause})`).join('; ')}`);
    const done = s.phases.filter((p) => p.endedAt).map((p) => p.phase);
    if (done.length) lines.push('', `Done: ${done.join(' → ')}`);
    setCurrentDetails(lines.join('\n'));
    this.metrics.emit(s, this.openGate);
  }

  workflowId(): string {
    return workflowInfo().workflowId;
  }
}

export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
