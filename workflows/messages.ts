import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OperatorAction, RunStatus } from './types';

/**
 * Messages shared by every cutover workflow, defined once and used by workflows, client, CLI
 * and tests alike. Each carries the operator's identity and a reason, which the history keeps
 * for auditors. Updates validate their input synchronously (a rejected update leaves no trace
 * in the history); signals are the fire-and-forget form of the same actions for tools that
 * cannot send updates.
 */

/** Approve the step waiting on a gate (`gate` names it; omitted = whatever gate is open). */
export const approveUpdate = defineUpdate<AckResult, [OperatorAction & { gate?: string }]>('approve');
/** Pause before the next phase starts (the current activity finishes). */
export const pauseUpdate = defineUpdate<AckResult, [OperatorAction]>('pause');
/** Resume a paused run, or answer a run waiting for an operator's decision with `retry`. */
export const resumeUpdate = defineUpdate<AckResult, [OperatorAction & { decision?: 'retry' | 'continue' }]>('resume');
/** Abort: compensations run in reverse order in a non-cancellable scope. */
export const abortUpdate = defineUpdate<AckResult, [OperatorAction]>('abort');
/** Extend the current monitoring or retention window by `minutes`. */
export const extendUpdate = defineUpdate<AckResult, [OperatorAction & { minutes: number }]>('extend');

/** Production cutover: an operator declares a silent fleet member gone (activities/production/membership.ts). */
export const forgetInstanceUpdate = defineUpdate<AckResult, [OperatorAction & { instanceId: string }]>('forgetInstance');
export const approveSignal = defineSignal<[OperatorAction & { gate?: string }]>('approveSignal');
export const abortSignal = defineSignal<[OperatorAction]>('abortSignal');

/** The run's status: phase, progress, gates, last health check, rollbacks. */
export const statusQuery = defineQuery<RunStatus>('status');

export interface AckResult {
  accepted: boolean;
  phase: string;
  message: string;
}

/** Validates the operator and reason of a message; throws naming the field. */
export function validateOperatorAction(a: unknown): void {
  if (typeof a !== 'object' || a === null) throw new Error('message input must be an object {operator, reason}');
  const o = a as Record<string, unknown>;
  if (typeof o.operator !== 'string' || !/^[\p{L}\p{N}._@ -]{1,100}$/u.test(o.operator.trim()) || !o.operator.trim()) {
    throw new Error('operator: required, 1-100 letters, digits, spaces or ._@-');
  }
  if (typeof o.reason !== 'string' || o.reason.trim().length < 3 || o.reason.length > 1000) {
    throw new Error('reason: required, 3-1000 characters');
  }
}
