import type { RollbackRecord, RunStatus } from '../../workflows/types';
import { decodeAll, decodeFirst, failureText, isoOf, num, type HistoryEventLike, type HistoryLike } from './history';

export { renderMarkdown } from './markdown';

/**
 * The audit report of one run, built from its workflow history alone (plus, for a run still
 * in progress, its `status` query): what an auditor needs without asking anyone.
 */
export interface AuditReport {
  workflowId?: string;
  workflowType: string;
  taskQueue?: string;
  startedAt?: string;
  closedAt?: string;
  durationSeconds?: number;
  /** How the execution ended in Temporal. */
  status: 'running' | 'completed' | 'failed' | 'canceled' | 'terminated' | 'timed-out' | 'continued-as-new';
  /** The workflow's own verdict: completed, rolled-back, aborted, dry-run… */
  outcome?: string;
  finalMode?: string;
  failure?: string;
  input: unknown;
  phases: AuditPhase[];
  activities: AuditActivity[];
  decisions: AuditDecision[];
  modeChanges: { at?: string; mode: string; reason?: string }[];
  parity: AuditParity[];
  healthChecks: AuditHealthCheck[];
  investigations: { at?: string; findings: { check: string; ok: boolean; detail: string; fix?: string }[] }[];
  rollbacks: RollbackRecord[];
  /**
   * Tables a rollback kept aside instead of dropping (they held rows the table in use lacked),
   * from the rollback activities' results: each with the statement that drops it, for an operator.
   */
  keptTables: { table: string; rowsOnlyThere: number; comparedWith: string; dropStatement: string; at?: string }[];
  /** Each table swap (and swap back) with how long its transaction held ACCESS EXCLUSIVE. */
  swaps: { at?: string; activity: string; direction: 'forward' | 'back'; lockMs: number; tries?: number }[];
  /** Records Postgres could not store, as the last quarantine report named them (instance, id, field, why). */
  quarantined: { instanceId: string; id: string; createdAt?: string; field: string; reason: string }[];
  /** Older Postgres versions of skipped quarantined records, removed and tombstoned after the skip (removeStaleOfQuarantined). */
  quarantineRemoved: { instanceId: string; id: string; updatedAt: string; quarantinedUpdatedAt: string }[];
  backfill?: Record<string, unknown>;
  /**
   * The runs the report reads, oldest first (a run that passed its history budget continued as
   * new: src/audit/chain.ts). One entry for a run that never did.
   */
  runs: { runId?: string; startedAt?: string; closedAt?: string; events: number; endedAs: AuditReport['status'] }[];
  notes: string[];
}

export interface AuditPhase {
  phase: string;
  startedAt: string;
  endedAt?: string;
  durationSeconds?: number;
  outcome?: string;
}

export interface AuditActivity {
  activity: string;
  scheduledAt?: string;
  closedAt?: string;
  durationSeconds?: number;
  attempts: number;
  outcome: 'completed' | 'failed' | 'timed-out' | 'canceled' | 'pending';
  failure?: string;
}

export interface AuditDecision {
  action: string;
  operator?: string;
  reason?: string;
  gate?: string;
  detail?: string;
  at?: string;
  via: 'update' | 'signal';
  /** The client identity that sent it (user@host of the CLI, the UI …). */
  identity?: string;
  /** Did the workflow accept it (its answer), or was it ignored? */
  accepted?: boolean;
  response?: string;
}

export interface AuditParity {
  month: string;
  match: boolean;
  memory: { count: number; sum?: string };
  postgres: { count: number; sum?: string };
  drift?: { missing: number; stale: number; extra: number };
  repaired?: number;
  inFlight?: number;
  /** How many times the month was verified (repair rounds, data-loss re-verification). */
  checks: number;
}

export interface AuditHealthCheck {
  at?: string;
  verdict: string;
  reasons: string[];
  failuresDelta?: number;
  p99Ms?: number | null;
  baselineP99Ms?: number | null;
  parity?: { checked: number; drift: number };
}

const OPERATOR_UPDATES = new Set(['approve', 'pause', 'resume', 'abort', 'extend', 'forgetInstance']);
const OPERATOR_SIGNALS: Record<string, string> = { approveSignal: 'approve', abortSignal: 'abort' };

function seconds(from?: string, to?: string): number | undefined {
  if (!from || !to) return undefined;
  return Math.round((Date.parse(to) - Date.parse(from)) / 100) / 10;
}

function describeMode(m: unknown): string | undefined {
  if (!m || typeof m !== 'object') return typeof m === 'string' ? m : undefined;
  const o = m as { persistence?: string; primary?: string };
  if (!o.persistence) return undefined;
  return o.persistence === 'dual-write' ? `dual-write, ${o.primary} primary` : `${o.persistence} only`;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Builds the report. `history` is `handle.fetchHistory()` (or `historyFromJSON(fixture)`), or
 * the histories of a chain of runs oldest first (`fetchRunChain`, chain.ts): the chain reads
 * as one run — started when the first started, the first run's input, every run's
 * activities and decisions, the last run's result; `runs` lists them.
 * `status` (optional) is the `status` query of a run still in progress, used for its phases
 * and rollbacks since it has no result yet.
 */
export function buildAuditReport(history: HistoryLike | (HistoryLike & { runId?: string })[], opts: { workflowId?: string; status?: RunStatus } = {}): AuditReport {
  const chain = Array.isArray(history) ? history : [history];
  const tagged = chain.flatMap((h, run) => (h.events ?? []).map((e) => ({ e, run })));
  const report: AuditReport = {
    workflowId: opts.workflowId,
    workflowType: '?',
    status: 'running',
    input: undefined,
    phases: [],
    activities: [],
    decisions: [],
    modeChanges: [],
    parity: [],
    healthChecks: [],
    investigations: [],
    rollbacks: [],
    keptTables: [],
    swaps: [],
    quarantined: [],
    quarantineRemoved: [],
    runs: chain.map((h) => ({ runId: (h as { runId?: string }).runId, events: (h.events ?? []).length, endedAs: 'running' as AuditReport['status'] })),
    notes: [],
  };
  const scheduled = new Map<string, { name: string; input: unknown; at?: string; entry: AuditActivity }>();
  const updates = new Map<string, AuditDecision>();
  const parity = new Map<string, AuditParity>();
  let result: unknown;

  // Event ids restart in every run of a chain: keys carry the run.
  const key = (run: number, id: unknown) => `${run}:${num(id as never)}`;
  for (const { e, run } of tagged as { e: HistoryEventLike; run: number }[]) {
    const at = isoOf(e.eventTime);
    let closed = false;
    if (e.workflowExecutionStartedEventAttributes) {
      const a = e.workflowExecutionStartedEventAttributes;
      report.runs[run].startedAt = at;
      if (run > 0) {
        // The chain goes on: it is as open as this run is.
        report.status = 'running';
        report.closedAt = undefined;
        continue; // a continued run's input is the carried state, not what was asked
      } // a continued run's input is the carried state, not what was asked
      report.workflowType = a.workflowType?.name ?? '?';
      report.taskQueue = a.taskQueue?.name ?? undefined;
      report.startedAt = at;
      report.input = decodeFirst(a.input);
    } else if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      const entry: AuditActivity = { activity: a.activityType?.name ?? '?', scheduledAt: at, attempts: 0, outcome: 'pending' };
      report.activities.push(entry);
      scheduled.set(key(run, e.eventId), { name: entry.activity, input: decodeFirst(a.input), at, entry });
    } else if (e.activityTaskStartedEventAttributes) {
      const s = scheduled.get(key(run, e.activityTaskStartedEventAttributes.scheduledEventId));
      if (s) s.entry.attempts = e.activityTaskStartedEventAttributes.attempt ?? 1;
    } else if (e.activityTaskCompletedEventAttributes) {
      const s = scheduled.get(key(run, e.activityTaskCompletedEventAttributes.scheduledEventId));
      if (!s) continue;
      close(s.entry, 'completed', at);
      onActivityResult(report, parity, s.name, s.input, decodeFirst(e.activityTaskCompletedEventAttributes.result), at);
    } else if (e.activityTaskFailedEventAttributes) {
      const s = scheduled.get(key(run, e.activityTaskFailedEventAttributes.scheduledEventId));
      if (s) close(s.entry, 'failed', at, failureText(e.activityTaskFailedEventAttributes.failure));
    } else if (e.activityTaskTimedOutEventAttributes) {
      const s = scheduled.get(key(run, e.activityTaskTimedOutEventAttributes.scheduledEventId));
      if (s) close(s.entry, 'timed-out', at, failureText(e.activityTaskTimedOutEventAttributes.failure));
    } else if (e.activityTaskCanceledEventAttributes) {
      const s = scheduled.get(key(run, e.activityTaskCanceledEventAttributes.scheduledEventId));
      if (s) close(s.entry, 'canceled', at);
    } else if (e.workflowExecutionUpdateAcceptedEventAttributes) {
      const req = e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest;
      const name = req?.input?.name ?? '';
      if (!OPERATOR_UPDATES.has(name)) continue;
      const d = decision(name, decodeFirst(req?.input?.args), at, 'update', req?.meta?.identity ?? undefined);
      report.decisions.push(d);
      const id = req?.meta?.updateId ?? e.workflowExecutionUpdateAcceptedEventAttributes.protocolInstanceId;
      if (id) updates.set(id, d);
    } else if (e.workflowExecutionUpdateCompletedEventAttributes) {
      const a = e.workflowExecutionUpdateCompletedEventAttributes;
      const d = a.meta?.updateId ? updates.get(a.meta.updateId) : undefined;
      if (!d) continue;
      if (a.outcome?.failure) {
        d.accepted = false;
        d.response = failureText(a.outcome.failure);
      } else {
        const ack = decodeFirst<{ accepted?: boolean; message?: string }>(a.outcome?.success);
        d.accepted = ack?.accepted ?? true;
        d.response = ack?.message;
        // What a forget did, as the workflow answered it (a refused one keeps only the request).
        if (d.action === 'forgetInstance' && d.accepted && ack?.message) d.detail = ack.message;
      }
    } else if (e.workflowExecutionSignaledEventAttributes) {
      const a = e.workflowExecutionSignaledEventAttributes;
      const action = OPERATOR_SIGNALS[a.signalName ?? ''];
      if (action) report.decisions.push(decision(action, decodeFirst(a.input), at, 'signal', a.identity ?? undefined));
    } else if (e.workflowExecutionCompletedEventAttributes) {
      report.status = 'completed';
      report.closedAt = at;
      closed = true;
      result = decodeFirst(e.workflowExecutionCompletedEventAttributes.result);
    } else if (e.workflowExecutionFailedEventAttributes) {
      report.status = 'failed';
      report.closedAt = at;
      closed = true;
      report.failure = failureText(e.workflowExecutionFailedEventAttributes.failure);
    } else if (e.workflowExecutionCanceledEventAttributes) {
      report.status = 'canceled';
      report.closedAt = at;
      closed = true;
    } else if (e.workflowExecutionTerminatedEventAttributes) {
      report.status = 'terminated';
      report.closedAt = at;
      closed = true;
      const t = e.workflowExecutionTerminatedEventAttributes;
      report.failure = `terminated${t.identity ? ` by ${t.identity}` : ''}${t.reason ? `: ${t.reason}` : ''}`;
    } else if (e.workflowExecutionTimedOutEventAttributes) {
      report.status = 'timed-out';
      report.closedAt = at;
      closed = true;
    } else if (e.workflowExecutionContinuedAsNewEventAttributes) {
      report.status = 'continued-as-new';
      report.closedAt = at;
      closed = true;
    }
    if (closed) {
      report.runs[run].endedAs = report.status;
      report.runs[run].closedAt = at;
    }
  }
  if (report.runs.length > 1) {
    const handOvers = report.runs.slice(0, -1).map((r) => `${r.runId ?? '?'} (${r.events} events, until ${r.closedAt ?? '?'})`);
    report.notes.push(`one run across ${report.runs.length} histories: continued as new ${report.runs.length - 1} time(s) when a history passed its budget — ${handOvers.join('; ')}; this report reads them as one`);
  }

  report.parity = [...parity.values()].sort((a, b) => a.month.localeCompare(b.month));
  report.durationSeconds = seconds(report.startedAt, report.closedAt);
  applyResult(report, result, opts.status);
  return report;
}

function close(entry: AuditActivity, outcome: AuditActivity['outcome'], at?: string, failure?: string): void {
  entry.outcome = outcome;
  entry.closedAt = at;
  entry.durationSeconds = seconds(entry.scheduledAt, at);
  if (failure) entry.failure = failure;
}

function decision(action: string, arg: unknown, at: string | undefined, via: 'update' | 'signal', identity?: string): AuditDecision {
  const a = isObj(arg) ? arg : {};
  const d: AuditDecision = { action, at, via, identity };
  if (typeof a.operator === 'string') d.operator = a.operator;
  if (typeof a.reason === 'string') d.reason = a.reason;
  if (typeof a.gate === 'string') d.gate = a.gate;
  if (typeof a.decision === 'string') d.detail = `decision: ${a.decision}`;
  if (typeof a.minutes === 'number') d.detail = `+${a.minutes} min`;
  if (typeof a.instanceId === 'string') d.detail = `forget instance ${a.instanceId}`;
  return d;
}

/** The activities that swap tables, and which way. */
const SWAP_ACTIVITIES: Record<string, 'forward' | 'back'> = { swapTables: 'forward', swapBack: 'back', swapGeneric: 'forward', swapBackGeneric: 'back', attachSwap: 'forward', attachSwapBack: 'back' };

/** What each activity's result tells the auditor. Unknown activities only appear in the timeline. */
function onActivityResult(report: AuditReport, parity: Map<string, AuditParity>, name: string, input: unknown, out: unknown, at?: string): void {
  if (isObj(out) && isObj(out.kept) && typeof out.kept.table === 'string' && typeof out.kept.dropStatement === 'string') {
    // A rollback (swapBackGeneric, attachSwapBack, rollbackGenericBeforeSwap, removeShadow) kept a table aside; a swap back's lock time is read below as well.
    const k = out.kept;
    if (!report.keptTables.some((x) => x.table === k.table)) {
      report.keptTables.push({ table: k.table as string, rowsOnlyThere: Number(k.rowsOnlyThere), comparedWith: String(k.comparedWith), dropStatement: k.dropStatement as string, at });
    }
  }
  if (name === 'changeMode' && isObj(input)) {
    report.modeChanges.push({ at, mode: describeMode(input.mode) ?? '?', reason: typeof input.reason === 'string' ? input.reason : undefined });
  } else if (isObj(out) && typeof out.month === 'string' && typeof out.match === 'boolean' && isObj(out.memory) && isObj(out.postgres)) {
    const prev = parity.get(out.month);
    parity.set(out.month, {
      month: out.month,
      match: out.match,
      memory: { count: Number(out.memory.count), sum: out.memory.sum as string | undefined },
      postgres: { count: Number(out.postgres.count), sum: out.postgres.sum as string | undefined },
      drift: isObj(out.drift) ? (out.drift as AuditParity['drift']) : undefined,
      repaired: (Number(out.repaired) || 0) + (prev?.repaired ?? 0),
      inFlight: typeof out.inFlight === 'number' ? out.inFlight : undefined,
      checks: (prev?.checks ?? 0) + 1,
    });
  } else if (name === 'healthCheck' && isObj(out)) {
    const p = isObj(out.parity) ? out.parity : {};
    report.healthChecks.push({
      at,
      verdict: String(out.verdict),
      reasons: Array.isArray(out.reasons) ? out.reasons.map(String) : [],
      failuresDelta: typeof out.failuresDelta === 'number' ? out.failuresDelta : undefined,
      p99Ms: out.p99Ms as number | null,
      baselineP99Ms: out.baselineP99Ms as number | null,
      parity: { checked: Number(p.checked) || 0, drift: Number(p.drift) || 0 },
    });
  } else if (SWAP_ACTIVITIES[name] && isObj(out) && typeof (out.lockMs ?? out.lockHoldMs) === 'number') {
    report.swaps.push({ at, activity: name, direction: SWAP_ACTIVITIES[name], lockMs: Number(out.lockMs ?? out.lockHoldMs), tries: typeof out.tries === 'number' ? out.tries : undefined });
  } else if (name === 'investigate' && Array.isArray(out)) {
    report.investigations.push({ at, findings: out as AuditReport['investigations'][number]['findings'] });
  } else if (name === 'quarantineReport' && isObj(out) && Array.isArray(out.records)) {
    for (const q of out.records as AuditReport['quarantined']) if (!report.quarantined.some((x) => x.id === q.id)) report.quarantined.push(q);
  } else if (name === 'removeStaleOfQuarantined' && isObj(out) && Array.isArray(out.removed)) {
    for (const q of out.removed as AuditReport['quarantineRemoved']) report.quarantineRemoved.push({ instanceId: q.instanceId, id: q.id, updatedAt: q.updatedAt, quarantinedUpdatedAt: q.quarantinedUpdatedAt });
  }
}

/** The workflow's result (or live status) carries its own record: phases, rollbacks, outcome. */
function applyResult(report: AuditReport, result: unknown, status?: RunStatus): void {
  const src: Obj = isObj(result) ? result : isObj(status) ? (status as unknown as Obj) : {};
  if (Array.isArray(src.phases)) {
    report.phases = (src.phases as AuditPhase[]).map((p) => ({ ...p, durationSeconds: seconds(p.startedAt, p.endedAt) }));
  }
  if (Array.isArray(src.rollbacks)) report.rollbacks = src.rollbacks as RollbackRecord[];
  if (isObj(result)) {
    // `status`: the result field of conversions recorded before it was named `outcome`.
    report.outcome = typeof result.outcome === 'string' ? result.outcome : typeof result.status === 'string' ? result.status : 'completed';
    report.finalMode = describeMode(result.finalMode);
    if (isObj(result.backfill)) report.backfill = result.backfill;
    if (typeof result.cause === 'string' && report.rollbacks.length === 0 && report.outcome !== 'completed') {
      report.rollbacks.push({ branch: report.outcome, cause: result.cause, at: report.closedAt ?? '' });
    }
    // Runs whose activities the report does not know (conversion) still carry parity in the result.
    if (report.parity.length === 0) {
      const months = Array.isArray(result.parity) ? result.parity : isObj(result.parity) && Array.isArray(result.parity.months) ? result.parity.months : [];
      for (const m of months as Obj[]) {
        if (!isObj(m) || typeof m.month !== 'string') continue;
        const mem = isObj(m.memory) ? m.memory : isObj(m.source) ? m.source : {};
        const pg = isObj(m.postgres) ? m.postgres : isObj(m.target) ? m.target : {};
        report.parity.push({ month: m.month, match: m.match !== false, memory: { count: Number(mem.count) || 0 }, postgres: { count: Number(pg.count) || 0 }, checks: 1 });
      }
    }
  } else if (status) {
    report.outcome = status.state;
    report.notes.push(`run in progress: phase ${status.phase} (${status.state})${status.waitingOn ? `, waiting for ${status.waitingOn}` : ''}`);
  }
  if (report.status === 'failed' && !report.outcome) report.outcome = 'failed';
  if (!report.finalMode && report.modeChanges.length) report.finalMode = report.modeChanges[report.modeChanges.length - 1].mode;
}

/** The JSON form (`cutover audit --format json`): the report itself, stable field names. */
export function renderJson(report: AuditReport): string {
  return JSON.stringify(report, null, 2);
}

export { decodeAll };
