import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { createActivities } from '../activities';
import type { ProductionCutoverResult } from '../workflows/production';
import type { ProductionCutoverInput } from '../workflows/production-input';
import { projectRoot } from '../src/devenv/paths';
import type { RunningPostgres } from '../src/devenv/postgres';
import type { RunningTemporal } from '../src/devenv/temporal';
import { benchDatabase, secretsFor } from './env';
import { phase2Apps } from './apps';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Interval = [number, number];

/** Total length of the union of intervals (overlapping activities count once). */
export function unionMs(intervals: Interval[]): number {
  const xs = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: Interval | undefined;
  for (const [s, e] of xs) {
    if (!cur || s > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [s, e];
    } else cur[1] = Math.max(cur[1], e);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

const ms = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

export interface HistoryTimes {
  wallMs: number;
  /** ActivityTaskStarted → Completed of every activity, as intervals. */
  activities: Interval[];
  /** TimerStarted → TimerFired (the monitoring window's durable timers). */
  timers: Interval[];
}

export function historyTimes(events: HistoryEvent[]): HistoryTimes {
  const started = new Map<number, number>();
  const timerStarted = new Map<number, number>();
  const activities: Interval[] = [];
  const timers: Interval[] = [];
  let first = Infinity;
  let last = 0;
  for (const e of events) {
    const t = ms(e);
    first = Math.min(first, t);
    last = Math.max(last, t);
    if (e.activityTaskStartedEventAttributes) started.set(Number(e.eventId), t);
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (done && 'startedEventId' in done) {
      const s = started.get(Number(done.startedEventId));
      if (s !== undefined) activities.push([s, t]);
    }
    if (e.timerStartedEventAttributes) timerStarted.set(Number(e.eventId), t);
    if (e.timerFiredEventAttributes) {
      const s = timerStarted.get(Number(e.timerFiredEventAttributes.startedEventId));
      if (s !== undefined) timers.push([s, t]);
    }
  }
  return { wallMs: last - first, activities, timers };
}

export interface B7Figures {
  rows: number;
  wallMs: number;
  /** Wall time minus the time spent only in durable timers (the monitoring window). */
  wallWithoutWindowMs: number;
  activityBusyMs: number;
  activitySumMs: number;
  activities: number;
  timerOnlyMs: number;
  backfillRowsPerSec: number;
  outcome: string;
}

/**
 * B7: a whole productionCutover on the Temporal dev server, in-process worker with the real
 * activities, 2 app instances in memory mode holding `rows` records (a backfill-dominated run),
 * monitoring window 3 s (nonProduction), no approvals. From the history: wall time (first to
 * last event) minus the time covered only by timers, against the time covered by activities
 * (ActivityTaskStarted → Completed; overlapping lanes counted once).
 */
export async function measureB7(pg: RunningPostgres, server: RunningTemporal, rows: number): Promise<B7Figures> {
  const db = await benchDatabase(pg, 'control', 'b7');
  const apps = await phase2Apps(db.url, 2, rows, 6);
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  try {
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(projectRoot, 'workflows', 'index.ts'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m), log() {} } as never,
    });
    const taskQueue = `bench-b7-${process.pid}-${Date.now().toString(36)}`;
    const worker = await Worker.create({
      connection: native,
      namespace: server.namespace,
      taskQueue,
      workflowBundle: { code },
      activities: createActivities({ profiles: db.profiles, secrets: secretsFor(apps.adminToken) }),
      maxConcurrentActivityTaskExecutions: 20,
    });
    const client = new Client({ connection, namespace: server.namespace });
    const workflowId = `bench-b7-${taskQueue}`;
    const input: ProductionCutoverInput = {
      nonProduction: true,
      monitoring: { windowMinutes: 0.05, healthCheckEveryMinutes: 0.05 },
      approvals: { beforeBackfill: false, beforeSwitchPrimary: false, beforeFinalCutover: false },
    };
    const result = (await worker.runUntil(client.workflow.execute('productionCutover', { taskQueue, workflowId, args: [input] }))) as ProductionCutoverResult;
    if (result.outcome !== 'completed') throw new Error(`B7: the run ended ${result.outcome}, not completed`);
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const h = historyTimes(history.events ?? []);
    const busy = unionMs(h.activities);
    const timerOnly = unionMs([...h.activities, ...h.timers]) - busy;
    return {
      rows: result.backfill.rows,
      wallMs: h.wallMs,
      wallWithoutWindowMs: h.wallMs - timerOnly,
      activityBusyMs: busy,
      activitySumMs: h.activities.reduce((a, [s, e]) => a + (e - s), 0),
      activities: h.activities.length,
      timerOnlyMs: timerOnly,
      backfillRowsPerSec: result.backfill.rowsPerSecond,
      outcome: result.outcome,
    };
  } finally {
    await connection.close();
    await native.close();
    await apps.stopAll();
    await db.drop();
  }
}
