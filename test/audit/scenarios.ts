import type { Client } from '@temporalio/client';
import type { ProductionCutoverInput } from '../../workflows/production-input';
import type { RunStatus } from '../../workflows/types';
import { getCutoverHandle } from '../../src/client';
import { statusQuery } from '../../workflows/messages';
import type { CutoverEnv } from '../helpers/cutover-env';
import { failuresWhile, failWrites, slowWrites, stallSecondsFor } from '../helpers/write-faults';

/**
 * The runs whose histories are committed as fixtures: the happy path and three rollback
 * branches, each with operator decisions, driven against the real workflow
 * (test/audit/record-histories.ts).
 */

/** Polls the status query until `pred` holds (the run reached a phase or a gate). */
export async function waitForStatus(client: Client, workflowId: string, pred: (s: RunStatus) => boolean, timeoutMs = 60_000): Promise<RunStatus> {
  const h = client.workflow.getHandle(workflowId);
  const until = Date.now() + timeoutMs;
  let last: RunStatus | undefined;
  while (Date.now() < until) {
    try {
      last = await h.query(statusQuery);
      if (pred(last)) return last;
    } catch {
      // the first workflow task has not run yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${workflowId}: condition not reached within ${timeoutMs} ms; last status ${JSON.stringify(last && { phase: last.phase, state: last.state, waitingOn: last.waitingOn })}`);
}

const FAST = {
  nonProduction: true,
  backfill: { batchSize: 100, chunkRows: 200, parallelism: 2 },
  health: { maxLatencyRatio: 50 },
} satisfies ProductionCutoverInput;

/** Happy path: an approval before the switch of the primary; the window elapses. */
export const HAPPY_INPUT: ProductionCutoverInput = {
  ...FAST,
  monitoring: { windowMinutes: 0.1, healthCheckEveryMinutes: 0.05 },
  approvals: { beforeSwitchPrimary: true, beforeFinalCutover: false },
};

export async function driveHappy(client: Client, workflowId: string): Promise<void> {
  await waitForStatus(client, workflowId, (s) => s.state === 'waiting-for-approval');
  await getCutoverHandle(client, workflowId).approve({ operator: 'alice', reason: 'parity verified for every month, switching the primary', gate: 'switch-primary' });
}

/** Operator abort during monitoring: an extension first, then the abort. */
export const ABORT_INPUT: ProductionCutoverInput = {
  ...FAST,
  monitoring: { windowMinutes: 30, healthCheckEveryMinutes: 0.05 },
  approvals: { beforeSwitchPrimary: false, beforeFinalCutover: false },
};

export async function driveAbort(client: Client, workflowId: string): Promise<void> {
  const h = getCutoverHandle(client, workflowId);
  await waitForStatus(client, workflowId, (s) => s.phase === 'monitoring');
  await h.extend({ operator: 'bob', reason: 'a batch job runs tonight, watch it too', minutes: 30 });
  await waitForStatus(client, workflowId, (s) => s.lastHealth !== undefined);
  await h.abort({ operator: 'bob', reason: 'change freeze announced, abort the cutover' });
}

/**
 * Parity cannot be reached: a stray row in Postgres that no memory store has (planted by the
 * recorder), no repair rounds allowed → backfill-or-verify-incomplete, back to the start mode.
 */
export const PARITY_INPUT: ProductionCutoverInput = {
  ...FAST,
  verify: { maxRepairRounds: 0 },
  monitoring: { windowMinutes: 0.1, healthCheckEveryMinutes: 0.05 },
  approvals: { beforeBackfill: true, beforeSwitchPrimary: false, beforeFinalCutover: false },
};

export async function driveParity(client: Client, workflowId: string): Promise<void> {
  await waitForStatus(client, workflowId, (s) => s.state === 'waiting-for-approval');
  await getCutoverHandle(client, workflowId).approve({ operator: 'carol', reason: 'maintenance window opened, start the backfill' });
}

/**
 * Cutover issues during monitoring: stalled Postgres writes raise write p99 → revert to
 * dual-write with memory primary, investigation, operator wait; Postgres refuses writes for a
 * moment while memory is primary; the operator retries → verify and repair before switching
 * again; the second window is ended by an approval.
 */
export const ISSUES_INPUT: ProductionCutoverInput = {
  ...FAST,
  health: { maxLatencyRatio: 3, latencyFloorMs: 100 },
  monitoring: { windowMinutes: 3, healthCheckEveryMinutes: 0.05 },
  approvals: { beforeSwitchPrimary: false, beforeFinalCutover: false },
};

export async function driveIssues(client: Client, workflowId: string, env: CutoverEnv): Promise<void> {
  const h = getCutoverHandle(client, workflowId);
  const first = await waitForStatus(client, workflowId, (s) => s.phase === 'monitoring' && s.lastHealth !== undefined, 120_000);
  const stall = await slowWrites(env.db.pool, stallSecondsFor(first.lastHealth?.baselineP99Ms));
  try {
    await waitForStatus(client, workflowId, (s) => s.state === 'waiting-for-operator', 120_000);
  } finally {
    await stall.undo();
  }
  await failuresWhile(env.apps, await failWrites(env.db.pool), 10);
  await h.resume({ operator: 'dave', reason: 'the slow trigger is gone and the disk has room again', decision: 'retry' });
  await waitForStatus(client, workflowId, (s) => s.phase === 'monitoring' && s.state === 'running', 120_000);
  await new Promise((r) => setTimeout(r, 3000)); // a few healthy checks
  await h.approve({ operator: 'dave', reason: 'healthy since the retry', gate: 'end-monitoring' });
}

/**
 * Postgres refuses the app's writes while the switch-primary gate is open (memory primary:
 * the writes are acknowledged, the failures counted), then the approval: the run verifies and
 * repairs Postgres from memory before it switches the primary.
 */
export const RECONCILE_INPUT: ProductionCutoverInput = {
  ...FAST,
  monitoring: { windowMinutes: 0.1, healthCheckEveryMinutes: 0.05 },
  approvals: { beforeSwitchPrimary: true, beforeFinalCutover: false },
};

export async function driveReconcile(client: Client, workflowId: string, env: CutoverEnv): Promise<void> {
  await waitForStatus(client, workflowId, (s) => s.state === 'waiting-for-approval');
  await failuresWhile(env.apps, await failWrites(env.db.pool), 10);
  await getCutoverHandle(client, workflowId).approve({ operator: 'erin', reason: 'the disk has room again, switching the primary', gate: 'switch-primary' });
}

/**
 * A record Postgres cannot store held in an instance's memory, with an older, storable version
 * of it already in Postgres (both planted by the recorder): the run waits at skip-quarantined
 * before the switch and the operator skips it.
 */
export const QUARANTINE_INPUT: ProductionCutoverInput = {
  ...FAST,
  monitoring: { windowMinutes: 0.1, healthCheckEveryMinutes: 0.05 },
  approvals: { beforeSwitchPrimary: false, beforeFinalCutover: false },
};

export async function driveQuarantine(client: Client, workflowId: string): Promise<void> {
  await waitForStatus(client, workflowId, (s) => s.state === 'waiting-for-approval', 180_000);
  await getCutoverHandle(client, workflowId).approve({ operator: 'ivy', reason: 'a legacy record from the old importer; its owner keeps a copy', gate: 'skip-quarantined' });
}

export const SCENARIOS = {
  'happy-path': { input: HAPPY_INPUT, drive: driveHappy, outcome: 'completed' },
  'operator-abort': { input: ABORT_INPUT, drive: driveAbort, outcome: 'aborted' },
  'parity-mismatch': { input: PARITY_INPUT, drive: driveParity, outcome: 'rolled-back' },
  'cutover-issues-retry': { input: ISSUES_INPUT, drive: driveIssues, outcome: 'completed' },
  'reconcile-before-switch': { input: RECONCILE_INPUT, drive: driveReconcile, outcome: 'completed' },
  'quarantine-skip': { input: QUARANTINE_INPUT, drive: driveQuarantine, outcome: 'completed' },
} as const;
export type ScenarioName = keyof typeof SCENARIOS;
