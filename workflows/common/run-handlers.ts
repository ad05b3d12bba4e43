import { patched, setHandler, type CancellationScope } from '@temporalio/workflow';
import { PATCHES } from '../patches';
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
import type { OperatorAction, RecordedDecision, RunStatus } from '../types';

/** What operators change through messages; RunController's primitives read it. */
export interface OperatorState {
  paused: boolean;
  abortAction: OperatorAction | undefined;
  openGate: string | undefined;
  approvals: Map<string, RecordedDecision>;
  /** Gates announced as upcoming (approvable ahead of time), in the order the run opens them. */
  upcoming: string[];
  /** Gates already passed: an approval of one is refused. */
  passed: Set<string>;
  /** gate → terms one of which an approval's reason must contain, and why. */
  conditions: Map<string, { mustName: string[]; why: string }>;
  decision: 'retry' | 'continue' | undefined;
  awaitingDecision: boolean;
  extraMinutes: number;
  inWindow: boolean;
  mainScope: CancellationScope | undefined;
}

export function newOperatorState(): OperatorState {
  return { paused: false, abortAction: undefined, openGate: undefined, approvals: new Map(), upcoming: [], passed: new Set(), conditions: new Map(), decision: undefined, awaitingDecision: false, extraMinutes: 0, inWindow: false, mainScope: undefined };
}

type Record_ = (action: RecordedDecision['action'], a: OperatorAction, extra?: Partial<RecordedDecision>) => RecordedDecision;

/**
 * The message handlers every cutover workflow shares (after temporalio/samples-typescript
 * `message-passing/safe-message-handlers/`): updates validate synchronously, so a rejected
 * one leaves no trace in the history; handlers only record the decision and flip state the
 * run's primitives wait on — none of them runs an activity.
 */
export function installHandlers(status: RunStatus, ops: OperatorState, record: Record_): void {
  const ack = (accepted: boolean, message: string): AckResult => ({ accepted, phase: status.phase, message });

  setHandler(statusQuery, () => status, { description: 'Phase, progress, open gate, decisions, rollbacks and the last health check.' });

  /**
   * Which gate an approval is for, or why it is refused: the open gate, or one the run has
   * announced as upcoming (a pre-approval); never a gate already passed or one this run does
   * not have. A gate with a condition (retention saw drift) needs a reason that names it.
   */
  const approvalTarget = (a: OperatorAction & { gate?: string }): { gate: string; upcoming: boolean } => {
    validateOperatorAction(a);
    if (a.gate !== undefined && (typeof a.gate !== 'string' || !a.gate.trim())) throw new Error('gate: must be a string naming a gate');
    const gate = a.gate?.trim() ?? ops.openGate;
    const open = ops.openGate ? `open: "${ops.openGate}"` : 'no gate is open';
    const ahead = ops.upcoming.length ? `upcoming: ${ops.upcoming.map((g) => `"${g}"`).join(', ')}` : 'no gate is upcoming';
    if (!gate) throw new Error(`no approval gate is open (phase ${status.phase}); ${ahead}`);
    if (gate !== ops.openGate && !ops.upcoming.includes(gate)) {
      const why = ops.passed.has(gate) ? `gate "${gate}" has already passed` : `this run has no gate "${gate}" ahead`;
      throw new Error(`gate: ${why} (${open}; ${ahead})`);
    }
    const cond = ops.conditions.get(gate);
    if (cond) {
      const reason = a.reason.toLowerCase();
      if (!cond.mustName.some((t) => reason.includes(t.toLowerCase()))) {
        throw new Error(`reason: ${cond.why}; an approval of "${gate}" must name it (mention ${cond.mustName.map((t) => `"${t}"`).join(' or ')})`);
      }
    }
    return { gate, upcoming: gate !== ops.openGate };
  };
  // Validated before (the update's validator, the signal's handler); on replay validators do
  // not run, so this must not refuse what an older validator accepted.
  const approve = (a: OperatorAction & { gate?: string }): AckResult => {
    const gate = a.gate?.trim() ?? ops.openGate;
    if (!gate) return ack(false, 'no approval gate is open');
    const upcoming = gate !== ops.openGate;
    ops.approvals.set(gate, record('approve', a, { gate, ...(upcoming ? { detail: 'pre-approval of an upcoming gate' } : {}) }));
    return ack(true, upcoming
      ? `pre-approved upcoming gate ${gate}: the run passes it when it gets there, unless it sees something the approval did not name (then it waits for a new one)`
      : `approved ${gate}`);
  };
  setHandler(approveUpdate, approve, {
    description: 'Approve the open gate, or pre-approve an upcoming one (`gate`; the status lists upcomingGates). Input: {"operator": "...", "reason": "...", "gate"?: "..."}.',
    validator: (a) => {
      approvalTarget(a);
    },
  });
  setHandler(approveSignal, (a) => {
    try {
      validateOperatorAction(a);
      // Signals are replayed through this handler: the gate rules apply to runs that recorded them.
      if (patched(PATCHES.approveSignalGateRules.id)) approvalTarget(a);
      approve(a);
    } catch (err) {
      status.notes.push(`ignored approve signal: ${(err as Error).message}`);
    }
  }, { description: 'Signal form of approve: {"operator": "...", "reason": "...", "gate"?: "..."}.' });

  setHandler(pauseUpdate, (a) => {
    ops.paused = true;
    record('pause', a);
    return ack(true, 'the run pauses before its next phase');
  }, {
    description: 'Pause before the next phase: {"operator": "...", "reason": "..."}.',
    validator: (a) => {
      validateOperatorAction(a);
      if (ops.paused) throw new Error('the run is already paused');
    },
  });

  setHandler(resumeUpdate, (a) => {
    if (ops.awaitingDecision) ops.decision = a.decision ?? 'retry';
    ops.paused = false;
    record('resume', a, a.decision ? { detail: a.decision } : {});
    return ack(true, ops.awaitingDecision ? `decision: ${ops.decision}` : 'resumed');
  }, {
    description: 'Resume a paused run, or answer a run waiting for an operator: {"operator": "...", "reason": "...", "decision"?: "retry"|"continue"}.',
    validator: (a) => {
      validateOperatorAction(a);
      if (a.decision !== undefined && a.decision !== 'retry' && a.decision !== 'continue') throw new Error('decision: must be "retry" or "continue"');
      if (!ops.paused && !ops.awaitingDecision) throw new Error('the run is neither paused nor waiting for an operator');
    },
  });

  const abort = (a: OperatorAction) => {
    if (ops.abortAction) return;
    ops.abortAction = a;
    record('abort', a);
    ops.mainScope?.cancel();
  };
  setHandler(abortUpdate, (a) => {
    abort(a);
    return ack(true, 'aborting: compensations run in reverse order');
  }, {
    description: 'Abort the run; completed steps are compensated in reverse order: {"operator": "...", "reason": "..."}.',
    validator: (a) => {
      validateOperatorAction(a);
      if (ops.abortAction) throw new Error('the run is already aborting');
      if (['completed', 'rolled-back', 'aborted', 'failed'].includes(status.state)) throw new Error(`the run has ended (${status.state})`);
    },
  });
  setHandler(abortSignal, (a) => {
    try {
      validateOperatorAction(a);
      abort(a);
    } catch (err) {
      status.notes.push(`ignored abort signal: ${(err as Error).message}`);
    }
  }, { description: 'Signal form of abort: {"operator": "...", "reason": "..."}.' });

  setHandler(extendUpdate, (a) => {
    ops.extraMinutes += a.minutes;
    record('extend', a, { detail: `+${a.minutes} min` });
    return ack(true, `window extended by ${a.minutes} min`);
  }, {
    description: 'Extend the current monitoring or retention window: {"operator": "...", "reason": "...", "minutes": 60}.',
    validator: (a) => {
      validateOperatorAction(a);
      if (typeof a.minutes !== 'number' || !Number.isInteger(a.minutes) || a.minutes < 1 || a.minutes > 7 * 24 * 60) {
        throw new Error('minutes: must be an integer from 1 to 10080 (7 days)');
      }
      if (!ops.inWindow) throw new Error(`no window is open to extend (phase ${status.phase})`);
    },
  });
}
