import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { useTestDatabase } from '../helpers/db';
import { waitFor } from '../conversion/harness';
import { startWorkerMain, type WorkerMain } from '../helpers/worker-main';
import { freePort } from '../helpers/prometheus';
import { parsePrometheus } from '../../activities/lib/prom';
import { APP_ROLE_SQL } from '../conversion/generic/shapes';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { statusQuery } from '../../workflows/messages';
import type { RunStatus } from '../../workflows/types';
import { runCli } from './run-cli';

/**
 * Issue 25, item 4: the progress of a conversion of any table everywhere, as the memory_records
 * run shows it — `cutover start conversion` starts it; `cutover status` (text and --json) and
 * `cutover watch` show the copy's phase, rows done of preflight's count, the percentage, rows/s
 * and ETA; the UI's current details and the run gauges of the worker (`npm run worker` with
 * LICHEN_METRICS_ADDRESS) carry the same. The copy is rate bound so it lasts many slices; the run
 * is aborted, under the app's load, with the oracle at zero.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const cliEnv = () => ({ TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: inject('temporalNamespace') });
let worker: WorkerMain | undefined;
let metricsUrl: string;
let taskQueue: string;
let dir: string;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('cli-generic');
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  worker = await startWorkerMain({ LICHEN_TASK_QUEUE: taskQueue, LICHEN_DB_PROFILE_DEFAULT: db.url, LICHEN_METRICS_ADDRESS: `127.0.0.1:${port}` });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-cli-generic-'));
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA shop; GRANT USAGE ON SCHEMA shop TO ${app};
    CREATE TABLE shop.orders (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), total numeric(12,2) NOT NULL);
    INSERT INTO shop.orders (placed_at, total) SELECT now() - g * interval '5 hours', g / 7.0 FROM generate_series(1, 3000) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.orders TO ${app}; GRANT USAGE ON SEQUENCE shop.orders_id_seq TO ${app};`);
});

afterAll(async () => {
  const code = await worker?.stop();
  if (code !== 0 && worker) process.stderr.write(`worker exited ${code}: ${worker.output().slice(-2000)}\n`);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** `done/total rows (pct%), rate rows/s, ETA …` with the numbers checked against each other. */
const PROGRESS = /(\d+)\/(\d+) rows \((\d+)%\), (\d+) rows\/s, ETA (\d+h\d\dm|\d+m\d\ds|\d+s)/;

describe('cutover CLI: the progress of a conversion of any table', () => {
  it('start, status and watch show the copy phase with rows, %, rows/s and ETA, as do the current details and the run gauges; the run aborts with nothing lost', async () => {
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName('shop.orders')))));
    const baseline = await readImages(db.pool, '"shop"."orders"', key);
    const load = await startSqlLoad({ url: appUrl(), table: 'shop.orders', ratePerSec: 30, seed: 27, baseline, spreadDays: 60 });
    const workflowId = `cli-generic-${process.pid}-${Date.now().toString(36)}`;
    try {
      const inputFile = path.join(dir, 'input.json');
      // 3000 rows at 20 rows/s: the copy lasts minutes, its first ~30 s slice sets rows/s and ETA.
      fs.writeFileSync(inputFile, JSON.stringify({ table: 'shop.orders', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, copy: { batchSize: 20, maxRowsPerSecond: 20 } }));
      const started = await runCli(['start', 'conversion', '--input', inputFile, '--task-queue', taskQueue, '--workflow-id', workflowId, '--json'], cliEnv());
      expect(started.code, started.stderr).toBe(0);
      const h = temporal.client.workflow.getHandle(workflowId);

      // From the copy's start: its total (preflight's count), before any rate is known.
      const first = await waitFor('the copy phase', async () => {
        const s = await h.query(statusQuery);
        return s.phase === 'copy' && s.progress ? s : undefined;
      }, 120_000);
      expect(first.progress).toMatchObject({ unit: 'rows', done: expect.any(Number) });
      expect(first.progress!.total).toBeGreaterThan(2500); // 3000 rows and the load's writes before preflight's count
      // After the first slice: rows/s and ETA.
      await waitFor('the copy progress with a rate', async () => {
        const s = await h.query(statusQuery);
        return s.phase === 'copy' && s.progress?.ratePerSec !== undefined;
      }, 180_000);

      const text = await runCli(['status', workflowId], cliEnv());
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain('phase: copy (running)');
      const m = PROGRESS.exec(text.stdout);
      expect(m, text.stdout).not.toBeNull();
      const [done, total, pct, rate] = [m![1], m![2], m![3], m![4]].map(Number);
      expect(total).toBeGreaterThan(2500);
      expect(done).toBeGreaterThan(0);
      expect(done).toBeLessThan(total);
      expect(pct).toBe(Math.floor((done / total) * 100));
      expect(rate).toBeGreaterThan(0);

      const json = await runCli(['status', workflowId, '--json'], cliEnv());
      const st = json.json<{ status: RunStatus }>().status;
      expect(st.phase).toBe('copy');
      expect(st.progress).toMatchObject({ unit: 'rows', done: expect.any(Number), total: expect.any(Number), ratePerSec: expect.any(Number), etaSeconds: expect.any(Number) });
      expect(st.progress!.ratePerSec).toBeGreaterThan(0);
      expect(st.progress!.etaSeconds).toBeGreaterThan(0);

      // The UI's current details: phase, bar, %, rows, rows/s, ETA.
      const meta = await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(meta.currentDetails).toContain('phase **copy**');
      expect(meta.currentDetails).toMatch(/`[█░]{20}` \d+% — \d+\/\d+ rows — \d+ rows\/s — ETA \S+/);

      // The run gauges on the worker's endpoint: the copy's rows done and in all, rows/s and ETA (the status moves on: the gauges keep up with it).
      const run = { workflow_id: workflowId, target: st.target, phase: 'copy' };
      const gauges = await waitFor('the run gauges of the copy with a rate', async () => {
        const samples = parsePrometheus(await (await fetch(metricsUrl)).text());
        const one = (name: string, labels: Record<string, string>) => samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;
        const g = {
          done: one('lichen_cutover_progress_done', { ...run, unit: 'rows' }),
          total: one('lichen_cutover_progress_total', { ...run, unit: 'rows' }),
          rate: one('lichen_cutover_progress_rate', { ...run, unit: 'rows' }),
          eta: one('lichen_cutover_eta_seconds', run),
        };
        return g.done !== undefined && g.done > 0 && g.rate !== undefined && g.eta !== undefined ? g : undefined;
      }, 60_000);
      expect(gauges.total).toBeGreaterThan(2500);
      expect(gauges.done).toBeLessThan(gauges.total!);
      expect(gauges.rate).toBeGreaterThan(0);
      expect(gauges.eta).toBeGreaterThan(0);

      // watch (not a terminal): a line per change, the progress in it; aborted once it printed one.
      let aborted: Promise<unknown> | undefined;
      const watch = await runCli(['watch', workflowId], cliEnv(), 180_000, (out) => {
        if (!aborted && /progress=/.test(out)) aborted = runCli(['abort', workflowId, '--operator', 'dana', '--reason', 'seen the progress'], cliEnv());
      });
      expect(aborted).toBeDefined();
      expect(((await aborted) as { code: number }).code).toBe(0);
      expect(watch.code).toBe(1); // the run ended aborted
      const line = watch.stdout.split('\n').find((l) => l.includes('progress='));
      expect(line).toMatch(/phase="copy" state=running progress="\d+\/\d+ rows \(\d+%\), \d+ rows\/s, ETA [^"]+"/);
      expect(watch.stdout).toContain('outcome: aborted');
      expect(((await h.result()) as { outcome: string }).outcome).toBe('aborted');
    } finally {
      await load.stop();
    }
    expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(20);
    const v = await judgeRows(db.pool, '"shop"."orders"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });
});
