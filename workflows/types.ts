/**
 * Types shared by workflows, activities, client and CLI. One object in, one object out.
 * No Node built-ins: workflows import this file.
 */

export type PersistenceKind = 'memory' | 'dual-write' | 'postgres';
export type StoreName = 'memory' | 'postgres';

/** The persistence mode every app instance applies (the control row in Postgres). */
export interface PersistenceMode {
  persistence: PersistenceKind;
  primary: StoreName;
  failFast: boolean;
  dualWriteEnabled: boolean;
  /**
   * With persistence 'postgres': a second table of the same shape (same database) that every
   * write is mirrored to after the primary table — the app's dual-write onto a table, used by
   * the heap-to-partitioned conversion (sync "app-dual-write"). Absent: no mirror.
   */
  mirrorTable?: string;
}

export interface OperatorAction {
  /** Who acts (recorded in the history). */
  operator: string;
  /** Why (recorded in the history). */
  reason: string;
}

export interface Progress {
  /** Units done / total (rows, ranges, checks). */
  done: number;
  total: number;
  unit: string;
  ratePerSec?: number;
  etaSeconds?: number;
}

export interface RecordedDecision extends OperatorAction {
  action: 'approve' | 'pause' | 'resume' | 'abort' | 'extend' | 'forget-instance';
  gate?: string;
  detail?: string;
  /** Workflow time (deterministic). */
  at: string;
}

export interface RollbackRecord {
  branch: string;
  cause: string;
  at: string;
  endedInMode?: string;
}

export interface RunStatus {
  workflowType: string;
  target: string;
  phase: string;
  state: 'running' | 'paused' | 'waiting-for-approval' | 'waiting-for-operator' | 'rolling-back' | 'completed' | 'rolled-back' | 'aborted' | 'failed';
  progress?: Progress;
  waitingOn?: string;
  phases: { phase: string; startedAt: string; endedAt?: string; outcome?: string }[];
  decisions: RecordedDecision[];
  /**
   * Gates this run will open (in order) that have not opened yet: an approval may name one
   * ahead of time. Gates that only end a window early (end-monitoring, end-retention) are
   * approvable while open and are not listed.
   */
  upcomingGates?: string[];
  /** Gates whose approval must name something the run saw (e.g. drift), and why. */
  gateConditions?: { gate: string; mustName: string[]; why: string }[];
  rollbacks: RollbackRecord[];
  lastHealth?: Record<string, unknown>;
  /** Undos that failed during a rollback: what an operator must do by hand. */
  compensationFailures?: { name: string; why: string; byHand: string }[];
  notes: string[];
}
