import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, expect, onTestFinished } from 'vitest';
import { Pool } from 'pg';
import { Worker } from '@temporalio/worker';
import { createProfileResolver, type ProfileResolver } from '../../src/config/profiles';
import { createConversionActivities } from '../../activities/conversion';
import { createMaintenanceActivities } from '../../activities/maintenance';
import type { TestTemporal } from '../helpers/temporal';
import type { TestDatabase } from '../helpers/db';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';

/** A worker for this file's task queue with the conversion and maintenance activities. */
export async function startWorker(temporal: TestTemporal, url: string, taskQueue: string, workflowBundle: { codePath: string } = temporal.workflowBundle): Promise<{ worker: Worker; profiles: ProfileResolver; running: Promise<void> }> {
  const profiles = createProfileResolver({ default: url });
  const worker = await Worker.create({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace,
    taskQueue,
    workflowBundle,
    activities: { ...createConversionActivities({ profiles }), ...createMaintenanceActivities({ profiles }) },
  });
  const running = worker.run();
  return { worker, profiles, running };
}

/**
 * Seeds the heap table with `rows` records spread over the last `months` months (created_at
 * and updated_at with microseconds, so the copy's cursor must keep them exactly).
 */
export async function seedHeap(pool: Pool, rows: number, months = 6): Promise<void> {
  await pool.query(
    `INSERT INTO memory_records (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at)
     SELECT gen_random_uuid(), 'owner-' || (g % 50), CASE WHEN g % 3 = 0 THEN 'agent-' || (g % 7) END, 'note',
            'seed content ' || g || ' ' || md5(g::text), jsonb_build_object('g', g),
            ts, ts + interval '1 second'
       FROM generate_series(1, $1::int) g,
            -- references g, so it is evaluated per row (a bare LATERAL would run once)
            LATERAL (SELECT now() - (random() * $2::int * interval '30 days') - interval '1 hour' - g * interval '0 s' AS ts) t`,
    [rows, months],
  );
}

type Entry = { live: true; createdAt: string; updatedAt: string; content: string } | { live: false };

/**
 * A small in-test application: inserts, updates (some moving created_at) and deletes against
 * `memory_records` (whatever table that name resolves to) at a target rate, through its own
 * pool, with at most one operation in flight per id. Every acknowledged operation updates the
 * oracle; latencies are recorded with their start times.
 */
export class SqlWriter {
  readonly oracle = new Map<string, Entry>();
  readonly errors: string[] = [];
  readonly latencies: { at: number; ms: number }[] = [];
  acked = 0;
  private readonly pool: Pool;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private liveIds: string[] = [];
  private busy = new Set<string>();

  constructor(url: string, private readonly opsPerSecond = 150, private readonly concurrency = 4) {
    this.pool = new Pool({ connectionString: url, max: concurrency + 1, application_name: 'test-writer' });
    this.pool.on('error', () => undefined); // the database is dropped after the file
  }

  async load(): Promise<void> {
    const r = await this.pool.query<{ id: string; c: string; u: string; content: string }>(
      `SELECT id::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS c,
              to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS u, content FROM memory_records`);
    for (const row of r.rows) {
      this.oracle.set(row.id, { live: true, createdAt: row.c, updatedAt: row.u, content: row.content });
      this.liveIds.push(row.id);
    }
  }

  start(): void {
    const perLoopDelay = (1000 * this.concurrency) / this.opsPerSecond;
    for (let i = 0; i < this.concurrency; i++) {
      this.loops.push((async () => {
        while (!this.stopped) {
          const t0 = performance.now();
          await this.oneOp();
          const rest = perLoopDelay - (performance.now() - t0);
          if (rest > 0) await new Promise((r) => setTimeout(r, rest));
        }
      })());
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.loops);
    await this.pool.end();
  }

  maxLatencyMs(): number {
    return this.latencies.reduce((m, l) => Math.max(m, l.ms), 0);
  }

  private pickLive(): string | undefined {
    for (let i = 0; i < 5 && this.liveIds.length; i++) {
      const idx = crypto.randomInt(this.liveIds.length);
      const id = this.liveIds[idx];
      const e = this.oracle.get(id);
      if (!e?.live) {
        this.liveIds[idx] = this.liveIds[this.liveIds.length - 1];
        this.liveIds.pop();
        continue;
      }
      if (!this.busy.has(id)) return id;
    }
    return undefined;
  }

  private async oneOp(): Promise<void> {
    const roll = Math.random();
    const id = roll < 0.45 ? crypto.randomUUID() : this.pickLive();
    if (!id) return;
    this.busy.add(id);
    const t0 = performance.now();
    const at = Date.now();
    try {
      const now = new Date();
      if (roll < 0.45) {
        const created = now.toISOString();
        const content = `new ${crypto.randomBytes(6).toString('hex')}`;
        await this.pool.query(
          `INSERT INTO memory_records (id, owner_id, kind, content, created_at, updated_at) VALUES ($1, 'writer', 'note', $2, $3, $3)
           ON CONFLICT (id, created_at) DO NOTHING`, [id, content, created]);
        this.oracle.set(id, { live: true, createdAt: created.slice(0, 23), updatedAt: created.slice(0, 23), content });
        this.liveIds.push(id);
      } else if (roll < 0.85) {
        const prev = this.oracle.get(id) as Extract<Entry, { live: true }>;
        const prevUpdated = Date.parse(prev.updatedAt.slice(0, 23) + 'Z');
        const updated = new Date(Math.max(now.getTime(), prevUpdated + 1)).toISOString();
        const content = `upd ${crypto.randomBytes(6).toString('hex')}`;
        // One update in ten moves created_at forward by up to 20 days (often across a month
        // boundary, so the key changes partition), never past now: every target month has a partition.
        const moved = Math.random() < 0.1
          ? new Date(Math.min(now.getTime() - 1000, Date.parse(prev.createdAt.slice(0, 23) + 'Z') + crypto.randomInt(1, 20 * 86_400) * 1000)).toISOString()
          : null;
        const r = await this.pool.query(
          `UPDATE memory_records SET content = $2, updated_at = $3, created_at = coalesce($4::timestamptz, created_at) WHERE id = $1`,
          [id, content, updated, moved]);
        if (r.rowCount !== 1) throw new Error(`update of ${id} touched ${r.rowCount} rows`);
        this.oracle.set(id, { live: true, createdAt: moved ? moved.slice(0, 23) : prev.createdAt, updatedAt: updated.slice(0, 23), content });
      } else {
        const r = await this.pool.query(`DELETE FROM memory_records WHERE id = $1`, [id]);
        if (r.rowCount !== 1) throw new Error(`delete of ${id} touched ${r.rowCount} rows`);
        this.oracle.set(id, { live: false });
      }
      this.acked++;
      this.latencies.push({ at, ms: performance.now() - t0 });
    } catch (err) {
      this.errors.push(`${(err as Error).message}`);
      this.oracle.delete(id); // outcome unknown: not part of the oracle
    } finally {
      this.busy.delete(id);
    }
  }
}

/** Missing, stale and resurrected records of `table` against the writer's oracle. */
export async function checkOracle(url: string, table: string, oracle: Map<string, Entry>): Promise<{ missing: number; stale: number; resurrected: number; examples: string[] }> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    const r = await pool.query<{ id: string; c: string; u: string; content: string }>(
      `SELECT id::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS c,
              to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS u, content FROM ${table}`);
    const rows = new Map(r.rows.map((x) => [x.id, x]));
    let missing = 0, stale = 0, resurrected = 0;
    const examples: string[] = [];
    for (const [id, e] of oracle) {
      const row = rows.get(id);
      if (e.live) {
        if (!row) { missing++; examples.push(`missing ${id}`); continue; }
        // The oracle holds JS millisecond times for writer rows, microseconds for seeded ones.
        if (!row.u.startsWith(e.updatedAt) || !row.c.startsWith(e.createdAt) || row.content !== e.content) {
          stale++;
          examples.push(`stale ${id}: ${row.c}/${row.u}/${row.content} vs ${e.createdAt}/${e.updatedAt}/${e.content}`);
        }
      } else if (row) {
        resurrected++;
        examples.push(`resurrected ${id}`);
      }
    }
    return { missing, stale, resurrected, examples: examples.slice(0, 5) };
  } finally {
    await pool.end();
  }
}

export async function relkinds(pool: Pool): Promise<Record<string, string | null>> {
  const r = await pool.query<{ name: string; kind: string | null }>(
    `SELECT n AS name, (SELECT relkind::text FROM pg_class WHERE oid = to_regclass(n)) AS kind
       FROM unnest(ARRAY['memory_records', 'memory_records_partitioned', 'memory_records_old']) n`);
  return Object.fromEntries(r.rows.map((x) => [x.name, x.kind]));
}

export async function syncTriggers(pool: Pool): Promise<string[]> {
  const r = await pool.query<{ t: string }>(`SELECT tgname || ' on ' || tgrelid::regclass::text AS t FROM pg_trigger WHERE tgname LIKE 'lichen_conversion%' AND tgparentid = 0 ORDER BY 1`);
  return r.rows.map((x) => x.t);
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The innermost failure message of a workflow failure (activity → application failure). */
export function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let msg = String(e?.message);
  while (e?.cause) {
    e = e.cause as typeof e;
    msg = String(e?.message);
  }
  return msg;
}

/** A fresh database with the heap table (plan "heap") and `rows` seeded records; drop() cleans up. */
export async function heapDatabase(rows: number): Promise<{ url: string; pool: Pool; drop(): Promise<void> }> {
  const { freshDatabase } = await import('../helpers/db');
  const { applyPlan } = await import('../../src/migrations/runner');
  const fresh = await freshDatabase('conv');
  const pool = new Pool({ connectionString: fresh.url, max: 4 });
  pool.on('error', () => undefined);
  const c = await pool.connect();
  try {
    await applyPlan(c, 'heap');
  } finally {
    c.release();
  }
  await seedHeap(pool, rows);
  return {
    url: fresh.url,
    pool,
    async drop() {
      await pool.end();
      await fresh.drop();
    },
  };
}

/** Waits until the run's status satisfies `pred`; returns the status. */
export async function waitForStatus(
  handle: { query: (q: typeof import('../../workflows/messages').statusQuery) => Promise<import('../../workflows/types').RunStatus> },
  what: string,
  pred: (s: import('../../workflows/types').RunStatus) => boolean,
  timeoutMs = 45_000,
): Promise<import('../../workflows/types').RunStatus> {
  const { statusQuery } = await import('../../workflows/messages');
  return waitFor(what, async () => {
    const s = await handle.query(statusQuery);
    return pred(s) ? s : undefined;
  }, timeoutMs);
}

/**
 * One conversion scenario per test: a fresh heap database of `rows` rows, a worker whose default
 * profile is that database (on a new task queue), and a SQL writer at 150 ops/s started on it.
 * Everything is stopped and dropped after the file.
 */
export function useConversionScenario(temporal: TestTemporal, label: string, rows = 5000) {
  let env: Awaited<ReturnType<typeof startWorker>> | undefined;
  const dbs: { drop(): Promise<void> }[] = [];
  const stopWorker = async () => {
    env?.worker.shutdown();
    await env?.running;
    await env?.profiles.close();
  };
  afterAll(async () => {
    await stopWorker();
    for (const d of dbs) await d.drop();
  });
  return async function setup() {
    const db = await heapDatabase(rows);
    dbs.push(db);
    await stopWorker();
    const taskQueue = temporal.taskQueue(label);
    env = await startWorker(temporal, db.url, taskQueue);
    const writer = new SqlWriter(db.url, 150, 4);
    onTestFinished(() => writer.stop());
    await writer.load();
    writer.start();
    return { db, writer, taskQueue };
  };
}

const workerChildren = new Set<ChildProcess>();

/**
 * A conversion worker in its own process (test/conversion/worker-process.ts), so a test can
 * SIGKILL it mid-activity. `env`: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TASK_QUEUE, DB_URL,
 * BUNDLE_PATH. Resolves once it polls; killConversionWorkers() (afterAll) kills what is left.
 */
export function spawnConversionWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'worker-process.ts')], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workerChildren.add(child);
  child.on('exit', () => workerChildren.delete(child));
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('worker-ready') && resolve(child));
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before ready: ${err}`)));
  });
}

export function killConversionWorkers(): void {
  for (const c of workerChildren) c.kill('SIGKILL');
}

/**
 * Runs `body` under the generic SQL load as the app role (`appUrl`) on `table` ("schema.name"),
 * then judges the load's log with the row oracle: nothing missing, stale, resurrected or extra.
 * Writes go on 300 ms after `body` (past the run's end).
 */
export async function underGenericLoad<T>(
  db: Pick<TestDatabase, 'pool' | 'withClient'>, appUrl: string, table: string,
  o: { seed: number; ratePerSec?: number; spreadDays?: number }, body: () => Promise<T>,
): Promise<T> {
  const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(table)))));
  const qualified = table.split('.').map((p) => `"${p}"`).join('.');
  const baseline = await readImages(db.pool, qualified, key);
  const load = await startSqlLoad({ url: appUrl, table, ratePerSec: o.ratePerSec ?? 80, seed: o.seed, baseline, spreadDays: o.spreadDays ?? 20 });
  let out: T;
  try {
    out = await body();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await load.stop();
  }
  expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(30);
  const v = await judgeRows(db.pool, qualified, key, baseline, load.log);
  expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  return out;
}
