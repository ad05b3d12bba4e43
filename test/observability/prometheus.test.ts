import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { useCutoverEnv } from '../helpers/cutover-env';
import { useTestDatabase } from '../helpers/db';
import { startWorkerMain, type WorkerMain } from '../helpers/worker-main';
import { freePort, requirePrometheus, skipWithoutPrometheus, startPrometheus, withBoolComparisons, type RunningPrometheus } from '../helpers/prometheus';
import { seedHeap } from '../conversion/harness';
import { parsePrometheus, type MetricSample } from '../../activities/lib/prom';
import { approveUpdate, statusQuery } from '../../workflows/messages';
import type { ProductionCutoverInput } from '../../workflows/production-input';
import type { RunStatus } from '../../workflows/types';
import { projectRoot } from '../../src/devenv/paths';

/**
 * The observability of a real cutover, against Debian's Prometheus: the worker runs as
 * `npm run worker` with LICHEN_METRICS_ADDRESS, Prometheus scrapes it and two app instances
 * every second with docker/prometheus/alerts.yml loaded, while a production cutover (with an
 * approval gate) and a heap-to-partitioned conversion run on the same worker. Every expression
 * of docker/grafana/lichen-cutover.json and every alert rule (read from Prometheus' own rules
 * API, so the test follows the file) must return data.
 */
const ALERTS = path.join(projectRoot, 'docker/prometheus/alerts.yml');
const DASHBOARD = path.join(projectRoot, 'docker/grafana/lichen-cutover.json');
const SCRAPE_SECONDS = 1;
const skip = skipWithoutPrometheus('prometheus.test');

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 3000, months: 4 });
const heap = useTestDatabase('heap');
let worker: WorkerMain | undefined;
let prom: RunningPrometheus | undefined;
let metricsUrl: string;
let taskQueue: string;

/** Every PromQL expression of the dashboard's panels, with the panel's title. */
function dashboardExpressions(): { panel: string; expr: string }[] {
  const d = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets?: { expr?: string }[] }[] };
  return d.panels.flatMap((p) => (p.targets ?? []).filter((t) => t.expr).map((t) => ({ panel: p.title, expr: t.expr! })));
}

async function scrape(): Promise<MetricSample[]> {
  return parsePrometheus(await (await fetch(metricsUrl)).text());
}

const one = (samples: MetricSample[], name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe.skipIf(skip)('metrics of a real cutover in Prometheus, with the dashboard and the alert rules', () => {
  beforeAll(async () => {
    requirePrometheus();
    taskQueue = temporal.taskQueue('observability');
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    worker = await startWorkerMain({
      LICHEN_TASK_QUEUE: taskQueue,
      LICHEN_DB_PROFILE_DEFAULT: env.db.url,
      LICHEN_DB_PROFILE_HEAP: heap.url,
      LICHEN_ADMIN_TOKEN: env.apps.adminToken,
      LICHEN_METRICS_ADDRESS: `127.0.0.1:${port}`,
    });
    prom = await startPrometheus({
      intervalSeconds: SCRAPE_SECONDS,
      ruleFiles: [ALERTS],
      jobs: { 'lichen-worker': [`127.0.0.1:${port}`], 'memory-layer': env.urls().map((u) => new URL(u).host) },
    });
    await seedHeap(heap.pool, 2000, 3);
  });
  afterAll(async () => {
    await prom?.stop();
    const code = await worker?.stop();
    if (code !== 0 && worker) process.stderr.write(`worker exited ${code}: ${worker.output().slice(-2000)}\n`);
  });

  it('promtool accepts the alert rules', () => {
    const r = spawnSync('promtool', ['check', 'rules', ALERTS], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('serves the SDK and the cutover metrics on one endpoint, matching the status during the backfill, and every dashboard and alert expression has data', async () => {
    const t0 = Date.now();
    const step = (what: string) => process.stderr.write(`[prometheus.test] ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}\n`);
    const load = env.startLoad(120);
    const input: ProductionCutoverInput = {
      nonProduction: true,
      monitoring: { windowMinutes: 0.15, healthCheckEveryMinutes: 0.05 },
      approvals: { beforeSwitchPrimary: false, beforeFinalCutover: true },
      // Rate-limited so the backfill lasts several scrapes (and its throttle pauses are counted).
      backfill: { batchSize: 100, chunkRows: 300, parallelism: 2, maxRowsPerSecond: 150 },
      health: { maxLatencyRatio: 50 },
    };
    const workflowId = `observed-${taskQueue}`;
    const handle = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId, args: [input] });
    const conversion = await temporal.client.workflow.start('heapToPartitionedConversion', {
      taskQueue,
      workflowId: `observed-conversion-${taskQueue}`,
      args: [{ connectionProfile: 'heap', nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, copy: { batchSize: 500 }, swap: { lockTimeoutMs: 500 } }],
    });

    // The status, polled: what Prometheus scraped must match it within one scrape interval.
    // Each status with when its query was sent and when it answered: the state it reports lies in between.
    const history: { sent: number; at: number; status: RunStatus }[] = [];
    let polling = true;
    let lastQueryError = '';
    const poller = (async () => {
      while (polling) {
        const sent = Date.now();
        const status = await handle.query(statusQuery).catch((e: Error) => void (lastQueryError = e.message));
        if (status) history.push({ sent, at: Date.now(), status });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const backfillDone = (s: RunStatus) => (s.phase === 'backfill' && s.progress?.unit === 'rows' ? s.progress.done : undefined);
    const waitFor = async (what: string, pred: (s: RunStatus) => boolean, ms = 90_000) => {
      const t0 = Date.now();
      while (!history.length || !pred(history[history.length - 1].status)) {
        if (Date.now() - t0 > ms) {
          const failure = await handle.result().then(() => 'none', (e: Error & { cause?: Error }) => e.cause?.message ?? e.message);
          throw new Error(`failure: ${failure}; ` +`${what}: last status ${JSON.stringify(history[history.length - 1]?.status ?? null).slice(0, 800)} (${lastQueryError}); worker: ${worker?.output().slice(-1500)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return history[history.length - 1].status;
    };

    try {
      // During the backfill: the worker's own /metrics.
      await waitFor('the backfill to copy rows', (s) => (backfillDone(s) ?? 0) > 0, 60_000);
      step('backfill running');
      const before = (await handle.query(statusQuery)).progress!.done;
      const samples = await scrape();
      const after = await handle.query(statusQuery);
      expect(after.phase, 'the backfill outlasts one scrape').toBe('backfill');
      const run = { workflow_id: workflowId, target: 'memory_records' };
      // The SDK's worker metrics, from the same runtime.
      for (const name of ['temporal_worker_task_slots_available', 'temporal_worker_task_slots_used', 'temporal_activity_schedule_to_start_latency_seconds_bucket', 'temporal_sticky_cache_size', 'temporal_workflow_task_execution_latency_seconds_count']) {
        expect(one(samples, name, { task_queue: taskQueue }).length, name).toBeGreaterThan(0);
      }
      expect(one(samples, 'temporal_worker_task_slots_available', { task_queue: taskQueue, worker_type: 'ActivityWorker' })[0].value).toBeLessThanOrEqual(20);
      // The cutover's: phase, state and progress as the status query says.
      expect(one(samples, 'lichen_cutover_phase', { ...run, phase: 'backfill' })[0]?.value).toBe(1);
      expect(one(samples, 'lichen_cutover_phase', { ...run, phase: 'verify' })).toEqual([]);
      expect(one(samples, 'lichen_cutover_phase', { ...run, phase: 'preflight' })[0]?.value).toBe(0);
      expect(one(samples, 'lichen_cutover_state', { ...run, state: 'running' })[0]?.value).toBe(1);
      expect(one(samples, 'lichen_cutover_state', { ...run, state: 'completed' })[0]?.value).toBe(0);
      const done = one(samples, 'lichen_cutover_progress_done', { ...run, phase: 'backfill', unit: 'rows' })[0]?.value;
      expect(done).toBeGreaterThanOrEqual(before);
      expect(done).toBeLessThanOrEqual(after.progress!.done);
      expect(one(samples, 'lichen_cutover_progress_total', { ...run, phase: 'backfill', unit: 'rows' })[0]?.value).toBe(after.progress!.total);
      // Rows copied (counted by the activities as each chunk returns): at least what the status
      // says, and no more than it says one scrape interval later.
      const copied = one(samples, 'lichen_cutover_rows_copied_total', { ...run, step: 'backfill' }).reduce((a, s) => a + s.value, 0);
      expect(copied).toBeGreaterThanOrEqual(before);
      await new Promise((r) => setTimeout(r, SCRAPE_SECONDS * 1000 + 500));
      const later = await handle.query(statusQuery);
      expect(copied).toBeLessThanOrEqual(later.phase === 'backfill' ? later.progress!.done : Infinity);

      // Prometheus' copy of the same gauge: every sample it scraped lies within one scrape
      // interval of the status query (polled every 100 ms meanwhile).
      // On a busy machine Prometheus' first scrapes of a new target can come late: give it a few
      // more intervals (the backfill is paced to last ~10 s) before judging what it holds.
      let points: [number, string][] = [];
      for (let tries = 0; tries < 20 && points.length < 2; tries++) {
        if (tries) await new Promise((r) => setTimeout(r, 500));
        const scraped = await prom!.api<{ result: { values: [number, string][] }[] }>(
          `query?query=${encodeURIComponent(`lichen_cutover_progress_done{workflow_id="${workflowId}",phase="backfill"}[30s]`)}`,
        );
        points = scraped.result.flatMap((r) => r.values);
      }
      expect(points.length, 'backfill progress scraped by Prometheus').toBeGreaterThan(1);
      const doneAround = (t: number) => history.filter((h) => h.at >= t - SCRAPE_SECONDS * 1000 && h.sent <= t + SCRAPE_SECONDS * 1000 && h.status.phase === 'backfill').map((h) => h.status.progress?.done ?? 0);
      let compared = 0;
      for (const [at, v] of points) {
        const near = doneAround(at * 1000);
        if (near.length < 2) continue; // before the polling started
        compared++;
        expect(Number(v)).toBeGreaterThanOrEqual(Math.min(...near));
        expect(Number(v)).toBeLessThanOrEqual(Math.max(...near));
      }
      expect(compared).toBeGreaterThan(0);

      step('backfill checked');
      // The conversion swaps (its lock hold is timed), then waits for the approval to drop the old table.
      const t1 = Date.now();
      for (let c = await conversion.query(statusQuery); c.state !== 'waiting-for-approval'; c = await conversion.query(statusQuery)) {
        if (Date.now() - t1 > 60_000) throw new Error(`conversion: ${JSON.stringify(c).slice(0, 1500)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      step('conversion done');
      await waitFor('the final-cutover gate', (s) => s.state === 'waiting-for-approval', 100_000);
      step('at the gate');
      await new Promise((r) => setTimeout(r, 4 * SCRAPE_SECONDS * 1000)); // a few scrapes and rule evaluations at the gate

      const targets = await prom!.api<{ activeTargets: { labels: { job: string }; health: string; lastError: string }[] }>('targets');
      expect(targets.activeTargets.map((t) => `${t.labels.job} ${t.health} ${t.lastError}`).sort()).toEqual(['lichen-worker up ', 'memory-layer up ', 'memory-layer up ']);

      const empty: string[] = [];
      for (const { panel, expr } of dashboardExpressions()) {
        const r = await prom!.query(expr);
        if (r.length === 0) empty.push(`dashboard "${panel}": ${expr}`);
      }
      const rules = await prom!.api<{ groups: { rules: { name: string; type: string; query: string; health: string; lastError?: string }[] }[] }>('rules');
      const all = rules.groups.flatMap((g) => g.rules);
      expect(all.filter((r) => r.type === 'alerting').map((r) => r.name).sort()).toEqual(['LichenCutoverApprovalWaiting', 'LichenCutoverPhaseStuck', 'LichenCutoverThrottledTooLong', 'LichenDualWriteFailuresRising', 'LichenOrphanRecords']);
      for (const rule of all) {
        expect(`${rule.name}: ${rule.health} ${rule.lastError ?? ''}`.trim()).toBe(`${rule.name}: ok`);
        const measure = withBoolComparisons(rule.query);
        expect(measure).toContain(' bool');
        const r = await prom!.query(measure);
        if (r.length === 0) empty.push(`alert ${rule.name}: ${measure}`);
      }
      expect(empty, 'expressions without data').toEqual([]);

      // At the gate: the approval wait and the gate as labels, as the status says.
      const waiting = await prom!.query(`lichen_cutover_approval_waiting{workflow_id="${workflowId}"} == 1`);
      expect(waiting.map((s) => s.metric.gate)).toEqual(['final-cutover']);
      const swap = await prom!.query('lichen_cutover_swap_lock_seconds_count');
      expect(swap.map((s) => Number(s.value[1]))).toEqual([1]);
      // Lock times in their own buckets, from 1 ms (the runtime's default starts at 50 ms).
      expect((await prom!.query('lichen_cutover_swap_lock_seconds_bucket{le="0.001"}')).length).toBe(1);

      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'sre', reason: 'metrics test' }] });
      await conversion.executeUpdate(approveUpdate, { args: [{ operator: 'sre', reason: 'metrics test' }] });
      expect(JSON.stringify(await conversion.result())).not.toMatch(/rolled-back|aborted/);
      const result = (await handle.result()) as { outcome: string };
      expect(result.outcome).toBe('completed');
      await new Promise((r) => setTimeout(r, 2 * SCRAPE_SECONDS * 1000));
      const final = await prom!.query(`lichen_cutover_state{workflow_id="${workflowId}"} == 1`);
      expect(final.map((s) => s.metric.state)).toEqual(['completed']);
    } finally {
      polling = false;
      await poller;
      await load.stop();
    }
  });
});
