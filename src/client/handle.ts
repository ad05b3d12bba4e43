import { WorkflowUpdateFailedError, type Client, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import {
  abortUpdate,
  approveUpdate,
  extendUpdate,
  forgetInstanceUpdate,
  pauseUpdate,
  resumeUpdate,
  statusQuery,
  validateOperatorAction,
  type AckResult,
} from '../../workflows/messages';
import type { OperatorAction, RunStatus } from '../../workflows/types';
import { CutoverNotFoundError, CutoverRejectedError } from './errors';

export type OperatorActionName = 'approve' | 'pause' | 'resume' | 'abort' | 'extend' | 'forget';

/**
 * A typed handle on one cutover run (production, conversion or maintenance: they share the
 * messages of workflows/messages.ts). Operator actions are updates: the workflow validates them
 * and answers; a rejection throws CutoverRejectedError carrying the validator's message.
 */
export interface CutoverHandle<R = unknown> {
  readonly workflowId: string;
  readonly raw: WorkflowHandle;
  /** The `status` query: phase, progress, gates, decisions, rollbacks, last health check. */
  status(): Promise<RunStatus>;
  /** Server-side description (status RUNNING/COMPLETED/…, type, start and close times). */
  describe(): Promise<WorkflowExecutionDescription>;
  approve(a: OperatorAction & { gate?: string }): Promise<AckResult>;
  pause(a: OperatorAction): Promise<AckResult>;
  resume(a: OperatorAction & { decision?: 'retry' | 'continue' }): Promise<AckResult>;
  abort(a: OperatorAction): Promise<AckResult>;
  extend(a: OperatorAction & { minutes: number }): Promise<AckResult>;
  /** Production cutover: declare a silent fleet member gone (its memory-only records are given up). */
  forgetInstance(a: OperatorAction & { instanceId: string }): Promise<AckResult>;
  /** The workflow's result; throws WorkflowFailedError when it failed. */
  result(): Promise<R>;
}

function notFound(workflowId: string, err: unknown): never {
  if (err instanceof WorkflowNotFoundError) throw new CutoverNotFoundError(workflowId);
  throw err;
}

export function getCutoverHandle<R = unknown>(client: Client, workflowId: string): CutoverHandle<R> {
  const raw = client.workflow.getHandle(workflowId);
  const send = async <A extends OperatorAction>(action: OperatorActionName, def: typeof approveUpdate | typeof pauseUpdate | typeof resumeUpdate | typeof abortUpdate | typeof extendUpdate | typeof forgetInstanceUpdate, a: A): Promise<AckResult> => {
    // The same check the validator runs, so a typo fails here with the same message.
    try {
      validateOperatorAction(a);
    } catch (err) {
      throw new CutoverRejectedError(action, workflowId, (err as Error).message);
    }
    try {
      const ack = await raw.executeUpdate(def as typeof approveUpdate, { args: [a as OperatorAction & { gate?: string }] });
      if (!ack.accepted) throw new CutoverRejectedError(action, workflowId, ack.message);
      return ack;
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new CutoverRejectedError(action, workflowId, err.cause?.message ?? err.message);
      return notFound(workflowId, err);
    }
  };
  return {
    workflowId,
    raw,
    status: () => raw.query(statusQuery).catch((err) => notFound(workflowId, err)),
    describe: () => raw.describe().catch((err) => notFound(workflowId, err)),
    approve: (a) => send('approve', approveUpdate, a),
    pause: (a) => send('pause', pauseUpdate, a),
    resume: (a) => send('resume', resumeUpdate, a),
    abort: (a) => send('abort', abortUpdate, a),
    extend: (a) => send('extend', extendUpdate, a),
    forgetInstance: (a) => send('forget', forgetInstanceUpdate, a),
    result: () => (raw.result() as Promise<R>).catch((err) => notFound(workflowId, err)),
  };
}
