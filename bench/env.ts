import crypto from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, type RunningPostgres } from '../src/devenv/postgres';
import { applyPlan, type MigrationPlan } from '../src/migrations/runner';
import { createProfileResolver, type ProfileResolver } from '../src/config/profiles';
import { createSecretResolver, type SecretResolver } from '../src/config/secrets';

/** A scratch database for one benchmark, with a migration plan applied. */
export interface BenchDatabase {
  url: string;
  pool: Pool;
  /** Profile "default" resolves to this database (what our activities connect through). */
  profiles: ProfileResolver;
  drop(): Promise<void>;
}

let counter = 0;

export async function benchDatabase(pg: Pick<RunningPostgres, 'url'>, plan: MigrationPlan, label: string): Promise<BenchDatabase> {
  const name = `bench_${label}_${process.pid}_${counter++}`;
  const url = await createDatabase(pg.url, name);
  const pool = new Pool({ connectionString: url, max: 8 });
  pool.on('error', () => undefined);
  const c = await pool.connect();
  try {
    await applyPlan(c, plan, { appliedBy: 'bench' });
  } finally {
    c.release();
  }
  const profiles = createProfileResolver({ default: url }, {});
  return {
    url,
    pool,
    profiles,
    async drop() {
      await profiles.close();
      await pool.end();
      await dropDatabase(pg.url, name);
    },
  };
}

export function adminToken(): string {
  return `tok_${crypto.randomBytes(12).toString('hex')}`;
}

/** Resolves the admin token reference "default" to `token`, as the worker would. */
export function secretsFor(token: string): SecretResolver {
  return createSecretResolver({ default: token }, {});
}

const quiet = () => undefined;
const silentLogger = { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet };

/**
 * Runs one activity function in an activity context (heartbeats, sleep, cancellation) without
 * a Temporal server: exactly our activity code path, minus the orchestration.
 */
export function runActivity<I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> {
  return new MockActivityEnvironment({}, { logger: silentLogger }).run(fn, input);
}

export async function postgresVersion(pool: Pool): Promise<string> {
  const r = await pool.query<{ v: string }>(`SELECT split_part(version(), ' on ', 1) AS v`);
  return r.rows[0].v;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const t0 = performance.now();
  const result = await fn();
  return { result, ms: performance.now() - t0 };
}

export const rowsPerSecond = (rows: number, ms: number) => (ms > 0 ? Math.round((rows * 1000) / ms) : 0);
