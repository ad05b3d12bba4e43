import { defaultPayloadConverter, type Payload } from '@temporalio/common';

/**
 * The few fields of Temporal's history events the audit reads, typed structurally so that the
 * same code reads a live `fetchHistory()` and a JSON fixture parsed with `historyFromJSON`.
 */
type LongLike = number | string | { toString(): string } | null | undefined;
interface Ts {
  seconds?: LongLike;
  nanos?: number | null;
}
interface Payloads {
  payloads?: Payload[] | null;
}
interface FailureLike {
  message?: string | null;
  cause?: FailureLike | null;
  applicationFailureInfo?: { type?: string | null } | null;
}

export interface HistoryEventLike {
  eventId?: LongLike;
  eventTime?: Ts | null;
  workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string | null } | null; taskQueue?: { name?: string | null } | null; input?: Payloads | null; identity?: string | null; continuedExecutionRunId?: string | null } | null;
  workflowExecutionCompletedEventAttributes?: { result?: Payloads | null } | null;
  workflowExecutionFailedEventAttributes?: { failure?: FailureLike | null } | null;
  workflowExecutionCanceledEventAttributes?: object | null;
  workflowExecutionTerminatedEventAttributes?: { reason?: string | null; identity?: string | null } | null;
  workflowExecutionTimedOutEventAttributes?: object | null;
  workflowExecutionContinuedAsNewEventAttributes?: object | null;
  activityTaskScheduledEventAttributes?: { activityId?: string | null; activityType?: { name?: string | null } | null; input?: Payloads | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: LongLike; attempt?: number | null; lastFailure?: FailureLike | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: LongLike; result?: Payloads | null } | null;
  activityTaskFailedEventAttributes?: { scheduledEventId?: LongLike; failure?: FailureLike | null } | null;
  activityTaskTimedOutEventAttributes?: { scheduledEventId?: LongLike; failure?: FailureLike | null } | null;
  activityTaskCanceledEventAttributes?: { scheduledEventId?: LongLike } | null;
  workflowExecutionSignaledEventAttributes?: { signalName?: string | null; input?: Payloads | null; identity?: string | null } | null;
  workflowExecutionUpdateAcceptedEventAttributes?: {
    protocolInstanceId?: string | null;
    acceptedRequest?: { meta?: { updateId?: string | null; identity?: string | null } | null; input?: { name?: string | null; args?: Payloads | null } | null } | null;
  } | null;
  workflowExecutionUpdateCompletedEventAttributes?: { meta?: { updateId?: string | null } | null; outcome?: { success?: Payloads | null; failure?: FailureLike | null } | null } | null;
}

export interface HistoryLike {
  events?: HistoryEventLike[] | null;
}

export function num(x: LongLike): number {
  return x === null || x === undefined ? 0 : Number(x.toString());
}

export function isoOf(ts: Ts | null | undefined): string | undefined {
  if (!ts || ts.seconds === undefined || ts.seconds === null) return undefined;
  return new Date(num(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

/** Decodes every payload with the default data converter (JSON, binary/null). */
export function decodeAll(p: Payloads | null | undefined): unknown[] {
  return (p?.payloads ?? []).map((x) => {
    try {
      return defaultPayloadConverter.fromPayload(x);
    } catch {
      return '<undecodable payload>';
    }
  });
}

export function decodeFirst<T = unknown>(p: Payloads | null | undefined): T | undefined {
  return decodeAll(p)[0] as T | undefined;
}

/** The innermost useful failure message (activity failures wrap the application failure). */
export function failureText(f: FailureLike | null | undefined): string | undefined {
  if (!f) return undefined;
  const parts: string[] = [];
  for (let c: FailureLike | null | undefined = f; c; c = c.cause) if (c.message) parts.push(c.message);
  const type = f.applicationFailureInfo?.type ?? f.cause?.applicationFailureInfo?.type;
  return (type ? `[${type}] ` : '') + (parts[parts.length - 1] ?? parts[0] ?? 'failure');
}
