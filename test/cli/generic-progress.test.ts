import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { useTestDatabase } from '../helpers/db';
import { startWorker, waitFor } from '../conversion/harness';
import { APP_ROLE_SQL } from '../conversion/generic/shapes';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { statusQuery } from '../../workflows/messages';
import type { RunStatus } from '../../workflows/types';
import { runCli } from './run-cli';

/**
 * Issue 25, item 4: the progress of a conversion of any table in the CLI, as the memory_records
 * run shows it — `cutover status` (text and --json) and `cutover watch` show the copy's phase,
 * rows done of preflight's count, the percentage, rows/s and ETA, read from the run's status (the
 * same status the current details and the run gauges are made from). The copy is rate bound so
 * it lasts many slices; the run is aborted, under the app's load, with the oracle at zero.
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const cliEnv = () => ({ TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: inject('temporalNamespace') });
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;
let dir: string;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('cli-generic');
  env = await startWorker(temporal, db.url, taskQueue);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-cli-generic-'));
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(`CREATE SCHEMA shop; GRANT USAGE ON SCHEMA shop TO ${app};
    CREATE TABLE shop.orders (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), total numeric(12,2) NOT NULL);
    INSERT INTO shop.orders (placed_at, total) SELECT now() - g * interval '5 hours', g / 7.0 FROM generate_series(1, 3000) g;
    GRANT SELECT, INSERT, UPDATE, DELETE ON shop.orders TO ${app}; GRANT USAGE ON SEQUENCE shop.orders_id_seq TO ${app};`);
});

afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** `done/total rows (pct%), rate rows/s, ETA …` with the numbers checked against each other. */
const PROGRESS = /(\d+)\/(\d+) rows \((\d+)%\), (\d+) rows\/s, ETA (\d+h\d\dm|\d+m\d\ds|\d+s)/;

describe('cutover CLI: the progress of a conversion of any table', () => {
  it('status and watch show the copy phase with rows, %, rows/s and ETA; the run aborts with nothing lost', async () => {
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
