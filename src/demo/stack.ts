import crypto from 'node:crypto';
import fs from 'node:fs';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { Client as PgClient, Pool } from 'pg';
import { startPostgres, createDatabase, dropDatabase, redactUrl, type RunningPostgres } from '../devenv/postgres';
import { startTemporal, type RunningTemporal } from '../devenv/temporal';
import { applyPlan } from '../migrations/runner';
import { createMemoryService, type MemoryService } from '../memory-layer/server';
import { createProfileResolver } from '../config/profiles';
import { createSecretResolver } from '../config/secrets';
import { createWorker, type CutoverWorker } from '../worker/create-worker';
import { seedRecords } from '../loadgen/seed';
import { startLoad, type LoadHandle } from '../loadgen/generator';
import { checkOracle, postgresReader, type OracleVerdict } from '../loadgen/oracle';
import { OpLog } from '../loadgen/oplog';
import type { PersistenceMode } from '../../workflows/types';

/** Phase 2 of the runbook: the instances keep records in memory only; Postgres holds the control plane. */
export const PHASE2_MODE: PersistenceMode = { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: false };

export interface DemoStackOptions {
  /** Memory-layer instances (default 2). */
  instances?: number;
  /** Phase 2 records seeded through the instances (default 3000)… */
  seedRecords?: number;
  /** …spread over this many recent months (default 6). */
  seedMonths?: number;
  /** Task queue of the in-process worker (default `lichen-demo-<random>`). */
  taskQueue?: string;
  /** Progress messages for a human ("starting PostgreSQL…"). */
  say?: (line: string) => void;
  /** Called (and awaited) as soon as the Web UI is up, before seeding and bundling. */
  onUi?: (uiUrl: string) => Promise<void>;
  /** Aborting stops the start-up between steps: what was started is stopped, then it throws. */
  signal?: AbortSignal;
}

export interface DemoApp {
  url: string;
  instanceId: string;
}

/** Everything the demo (and the browser test) runs, all in this process except the two servers. */
export interface DemoStack {
  pg: RunningPostgres;
  /** The application database (control plane, later memory_records). */
  dbUrl: string;
  temporal: RunningTemporal;
  uiUrl: string;
  namespace: string;
  client: TemporalClient;
  /** Runs client calls so that stop() can abort them (use it for long polls such as result()). */
  call<T>(fn: () => Promise<T>): Promise<T>;
  apps: DemoApp[];
  adminToken: string;
  seedLog: OpLog;
  taskQueue: string;
  worker: CutoverWorker;
  /** Settles when the worker stops; rejects if it crashed. */
  workerRun: Promise<void>;
  /** Starts the load generator through every instance; the caller stops it. */
  startLoad(ratePerSec: number): LoadHandle;
  /** The oracle's verdict on `log` (merged with the seed log) against Postgres. */
  oracleAgainstPostgres(log: OpLog): Promise<OracleVerdict>;
  /** What is running, one line each (for --keep). */
  describe(): string[];
  /** Stops everything in reverse order of start. Idempotent; never throws. */
  stop(): Promise<void>;
}

type Cleanup = { what: string; run: () => Promise<void> };

/** Runs `p`, giving up (not failing) after `ms`: one stuck component must not keep the rest running. */
async function bounded(p: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  try {
    return await Promise.race([p.then(() => 'done' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Stops PostgreSQL. A Ctrl-C in a terminal reaches the embedded server too (same process
 * group), which then shuts itself down: a server that no longer answers only has its files
 * removed.
 */
async function stopPostgres(pg: RunningPostgres): Promise<void> {
  if (pg.embedded && !(await answers(pg.url))) {
    if (pg.dataDir) fs.rmSync(pg.dataDir, { recursive: true, force: true });
    return;
  }
  await pg.stop();
}

async function answers(url: string): Promise<boolean> {
  const c = new PgClient({ connectionString: url, connectionTimeoutMillis: 1_000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Brings up the embedded stack: PostgreSQL (embedded, or DATABASE_URL's server with a fresh
 * database), the Temporal dev server with its Web UI, the control-plane tables, `instances`
 * memory-layer instances in Phase 2 (memory mode) seeded over several months, and a worker
 * with the real activities and workflows. On any failure it stops what it had started.
 */
export async function startDemoStack(opts: DemoStackOptions = {}): Promise<DemoStack> {
  const say = opts.say ?? (() => undefined);
  const cleanups: Cleanup[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      for (const c of cleanups.reverse()) {
        try {
          if ((await bounded(c.run(), 20_000)) === 'timeout') say(`(stopping ${c.what} took over 20 s; moving on)`);
        } catch (err) {
          say(`(stopping ${c.what}: ${(err as Error).message})`);
        }
      }
    })());

  const checkpoint = () => {
    if (opts.signal?.aborted) throw new Error('start-up interrupted');
  };

  try {
    say('starting PostgreSQL and the Temporal dev server with its Web UI…');
    // allSettled, not all: when one fails the other must still be registered for stopping.
    const [pgStart, temporalStart] = await Promise.allSettled([startPostgres(), startTemporal({ ui: true })]);
    if (pgStart.status === 'fulfilled') cleanups.push({ what: 'PostgreSQL', run: () => stopPostgres(pgStart.value) });
    if (temporalStart.status === 'fulfilled') cleanups.push({ what: 'the Temporal dev server', run: () => temporalStart.value.stop() });
    if (pgStart.status === 'rejected') throw pgStart.reason;
    if (temporalStart.status === 'rejected') throw temporalStart.reason;
    const pg = pgStart.value;
    const temporal = temporalStart.value;
    if (!temporal.uiUrl) throw new Error('the Temporal dev server started without its Web UI');
    await opts.onUi?.(temporal.uiUrl);
    checkpoint();

    // A database of its own, so the demo never touches existing data on a DATABASE_URL server.
    const dbName = pg.embedded ? 'lichen_demo' : `lichen_demo_${crypto.randomBytes(4).toString('hex')}`;
    const dbUrl = await createDatabase(pg.url, dbName);
    if (!pg.embedded) cleanups.push({ what: `database ${dbName}`, run: () => dropDatabase(pg.url, dbName) });
    const admin = new PgClient({ connectionString: dbUrl });
    await admin.connect();
    try {
      await applyPlan(admin, 'control');
    } finally {
      await admin.end();
    }
    say(`PostgreSQL ${pg.embedded ? 'embedded' : redactUrl(pg.url)}: database ${dbName} with the control-plane tables`);
    checkpoint();

    const connection = await Connection.connect({ address: temporal.address });
    // Calls still waiting (a result long-poll) are aborted before the connection closes:
    // otherwise their retry timers throw "Channel has been shut down" out of nowhere.
    const calls = new AbortController();
    cleanups.push({
      what: 'the Temporal client connection',
      run: async () => {
        calls.abort();
        await connection.close();
      },
    });
    const client = new TemporalClient({ connection, namespace: temporal.namespace });
    const call = <T>(fn: () => Promise<T>): Promise<T> => {
      const p = client.withAbortSignal(calls.signal, fn);
      p.catch(() => undefined); // an aborted call nobody waits for any more is not an error
      return p;
    };

    const adminToken = `demo_${crypto.randomBytes(16).toString('hex')}`;
    const run = crypto.randomBytes(3).toString('hex');
    const services: MemoryService[] = [];
    for (let i = 0; i < (opts.instances ?? 2); i++) {
      const s = await createMemoryService({
        instanceId: `demo-${run}-${i}`,
        databaseUrl: dbUrl,
        adminToken,
        bootMode: PHASE2_MODE,
        heartbeatMs: 500,
      });
      services.push(s);
      cleanups.push({ what: `memory-layer instance ${s.instanceId}`, run: () => s.stop() });
    }
    const apps = services.map((s) => ({ url: s.url, instanceId: s.instanceId }));
    checkpoint();
    const urls = apps.map((a) => a.url);

    const taskQueue = opts.taskQueue ?? `lichen-demo-${run}`;
    const count = opts.seedRecords ?? 3000;
    const months = opts.seedMonths ?? 6;
    if (apps.length) {
      say(`${apps.length} memory-layer instances in Phase 2 (memory mode): ${urls.join(', ')}`);
      say(`seeding ${count} records over ${months} months and bundling the workflows for the worker…`);
    } else say('bundling the workflows for the worker…');
    const workerConnection = await NativeConnection.connect({ address: temporal.address });
    cleanups.push({ what: 'the worker connection', run: () => workerConnection.close() });
    const [seedLog, worker] = await Promise.all([
      count > 0 && urls.length > 0 ? seedRecords(urls, { count, months, owners: 40, adminToken }) : Promise.resolve(new OpLog()),
      createWorker({
        connection: workerConnection,
        namespace: temporal.namespace,
        taskQueue,
        profiles: createProfileResolver({ default: dbUrl }, {}),
        secrets: createSecretResolver({ default: adminToken }, {}),
        workerOptions: {
          // On Ctrl-C running activities get a moment to finish, then are cancelled.
          shutdownGraceTime: '3s',
          shutdownForceTime: '10s',
          // Checkpoints reach the server promptly, so a progress poll sees current figures.
          maxHeartbeatThrottleInterval: '1 second',
        },
      }),
    ]);
    let workerFailure: Error | undefined;
    const workerRun = worker.run().catch((err: Error) => {
      workerFailure = err;
      throw err;
    });
    workerRun.catch(() => undefined); // observed by the caller or at stop
    cleanups.push({
      what: 'the worker',
      run: async () => {
        if (worker.worker.getState() === 'RUNNING') worker.worker.shutdown();
        await workerRun.catch(() => undefined);
      },
    });
    say(`worker on task queue ${taskQueue}`);
    checkpoint();

    const stack: DemoStack = {
      pg,
      dbUrl,
      temporal,
      uiUrl: temporal.uiUrl,
      namespace: temporal.namespace,
      client,
      call,
      apps,
      adminToken,
      seedLog,
      taskQueue,
      worker,
      workerRun,
      startLoad(ratePerSec) {
        const handle = startLoad({ instances: urls, ratePerSec, owners: 30 });
        // Registered so a stop (Ctrl-C, error) ends the load before the instances go away.
        cleanups.push({ what: 'the load generator', run: () => handle.stop().then(() => undefined) });
        return handle;
      },
      async oracleAgainstPostgres(log) {
        const pool = new Pool({ connectionString: dbUrl, max: 2 });
        try {
          return await checkOracle(log.merge(seedLog), postgresReader(pool));
        } finally {
          await pool.end();
        }
      },
      describe() {
        if (workerFailure) return [`worker: FAILED (${workerFailure.message})`];
        return [
          `PostgreSQL:        ${pg.embedded ? `embedded, port ${pg.port}, data in ${pg.dataDir}` : redactUrl(pg.url)}`,
          `  application DB:  ${dbUrl}`,
          `Temporal server:   ${temporal.address} (namespace ${temporal.namespace})`,
          `Temporal Web UI:   ${temporal.uiUrl}`,
          ...apps.map((a) => `memory-layer app:  ${a.url} (${a.instanceId})`),
          `worker:            task queue ${taskQueue}`,
        ];
      },
      stop,
    };
    return stack;
  } catch (err) {
    await stop();
    throw err;
  }
}
