import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../activities';
import type { GenericConversionSummary } from '../workflows/conversion';
import { approveUpdate, statusQuery } from '../workflows/messages';
import { projectRoot } from '../src/devenv/paths';
import type { RunningTemporal } from '../src/devenv/temporal';
import type { ProfileResolver } from '../src/config/profiles';
import { secretsFor } from './env';
import { ChildWriter } from './child-writer';
import { TABLE } from './generic';
import { activitySpan, msUntilActivityDone, netWalBytes, writesIn } from './stats';

export async function walLsn(pool: Pool): Promise<string> {
  return (await pool.query<{ l: string }>(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0].l;
}

export async function walBytesSince(pool: Pool, lsn: string): Promise<number> {
  return Number((await pool.query<{ b: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS b`, [lsn])).rows[0].b);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ConversionRun {
  mode: 'copy' | 'attach';
  /** Workflow start → the swap activity's completion (history times). */
  untilSwapMs: number;
  /** Workflow start → result (client side). */
  wallMs: number;
  walGrossBytes: number;
  walNetBytes: number;
  writerWalBytesPerSec: number;
  /** Longest app write overlapping the run (start → result), and how many there were / failed. */
  stallMs: number;
  /** Longest app write overlapping the swap activity (started → completed), and in the writer-alone second before the run. */
  swapStallMs: number;
  baselineMaxMs: number;
  writes: number;
  failedWrites: number;
  failedExamples: string[];
  lockMs: number | null;
  /** The run's phases and their seconds (from its summary), where the time went. */
  phases: { phase: string; seconds: number | null }[];
}

/** The workflow bundle, built once per bench (a bundle is tens of seconds of CPU on this machine). */
let bundle: Promise<string> | undefined;
function workflowBundle(): Promise<string> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: path.join(projectRoot, 'workflows', 'index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m), log() {} } as never,
  }).then((b) => b.code);
  return bundle;
}

/**
 * One `heapToPartitionedConversion` of memory_records (mode copy or attach) on a Temporal dev
 * server, worker in this process with the real activities, while `writerUrl` (the app role)
 * writes at `rate`/s. The writer runs alone for 3 s first: its WAL rate is taken out of the run's.
 */
export async function runConversion(server: RunningTemporal, pool: Pool, profiles: ProfileResolver, writerUrl: string, mode: 'copy' | 'attach', rate: number): Promise<ConversionRun> {
  const code = await workflowBundle();
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  // The writer in its own process: the worker's CPU here (workflow tasks, activities) must not show as write latency.
  const writer = new ChildWriter(writerUrl, rate);
  try {
    const taskQueue = `bench-b8-${mode}-${process.pid}-${Date.now().toString(36)}`;
    const worker = await Worker.create({
      connection: native, namespace: server.namespace, taskQueue, workflowBundle: { code },
      activities: createActivities({ profiles, secrets: secretsFor('unused') }),
      maxConcurrentActivityTaskExecutions: 20,
    });
    const client = new Client({ connection, namespace: server.namespace });
    await writer.start();
    await sleep(500);
    const w0 = await walLsn(pool);
    const b0 = Date.now();
    await sleep(3000);
    const b1 = Date.now();
    const writerWalBytesPerSec = (await walBytesSince(pool, w0)) / 3;
    const input = { table: TABLE, mode, partitionBy: { column: 'created_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false } };
    const lsn = await walLsn(pool);
    const from = Date.now();
    const workflowId = `bench-b8-${taskQueue}`;
    const s = (await worker.runUntil(async () => {
      const h = await client.workflow.start('heapToPartitionedConversion', { taskQueue, workflowId, args: [input] });
      // Mode copy keeps the old table until the operator approves its drop (gate drop-old-table, after retention): approved as soon as it is asked.
      const done = h.result();
      let over = false;
      void done.finally(() => (over = true)).catch(() => undefined);
      while (!over) {
        const st = await h.query(statusQuery).catch(() => undefined);
        if (st?.state === 'waiting-for-approval') {
          await h.executeUpdate(approveUpdate, { args: [{ operator: 'bench', reason: 'bench run: drop the old table', gate: 'drop-old-table' }] });
        }
        await Promise.race([done.catch(() => undefined), sleep(200)]);
      }
      return done;
    })) as GenericConversionSummary;
    const to = Date.now();
    const walGrossBytes = await walBytesSince(pool, lsn);
    if (s.outcome !== 'completed') throw new Error(`B8: the ${mode} conversion ended ${s.outcome}, not completed`);
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const swapActivity = mode === 'attach' ? 'attachSwap' : 'swapGeneric';
    const untilSwapMs = msUntilActivityDone(history.events ?? [], swapActivity);
    if (untilSwapMs === undefined) throw new Error(`B8: no completed ${swapActivity} in the ${mode} run's history`);
    await sleep(500); // writes issued during the run finish
    const samples = await writer.stop();
    const w = writesIn(samples, from, to);
    const span = activitySpan(history.events ?? [], swapActivity)!;
    const failed = samples.filter((x) => !x.ok);
    return {
      mode, untilSwapMs, wallMs: to - from, walGrossBytes, writerWalBytesPerSec: Math.round(writerWalBytesPerSec),
      walNetBytes: netWalBytes(walGrossBytes, writerWalBytesPerSec, (to - from) / 1000),
      stallMs: w.maxMs, swapStallMs: writesIn(samples, span[0], span[1]).maxMs, baselineMaxMs: writesIn(samples, b0, b1).maxMs, writes: w.writes, failedWrites: failed.length, failedExamples: [...new Set(failed.map((f) => f.error ?? '?'))].slice(0, 3),
      lockMs: s.swap?.lockMs ?? null,
      phases: (s.phases ?? []).map((p) => ({ phase: p.phase, seconds: p.endedAt ? Math.round(Date.parse(p.endedAt) - Date.parse(p.startedAt)) / 1000 : null })),
    };
  } finally {
    writer.kill();
    await connection.close();
    await native.close();
  }
}
