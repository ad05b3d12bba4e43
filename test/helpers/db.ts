import { checkout } from '../../src/config/pg-checkout';
import { afterAll, beforeAll, inject } from 'vitest';
import { Pool, type PoolClient } from 'pg';
import { createDatabase, dropDatabase } from '../../src/devenv/postgres';
import { applyPlan, type MigrationPlan } from '../../src/migrations/runner';

export interface TestDatabase {
  url: string;
  name: string;
  pool: Pool;
  withClient<T>(cb: (c: PoolClient) => Promise<T>): Promise<T>;
}

let counter = 0;

/** A fresh database on the run's Postgres for one test file, dropped after it. */
export function useTestDatabase(plan?: MigrationPlan): TestDatabase {
  const db = {} as TestDatabase;
  beforeAll(async () => {
    const name = `t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
    db.name = name;
    db.url = await createDatabase(inject('pgAdminUrl'), name);
    db.pool = new Pool({ connectionString: db.url, max: 10 });
    db.pool.on('error', () => undefined); // idle clients of a restarted server: the next query reports it
    db.withClient = async (cb) => {
      const c = await checkout(db.pool); // a restart between two queries must not be an uncaught error
      try {
        return await cb(c);
      } finally {
        c.release();
      }
    };
    if (plan) await db.withClient((c) => applyPlan(c, plan));
  });
  afterAll(async () => {
    await db.pool?.end();
    if (db.name) await dropDatabase(inject('pgAdminUrl'), db.name);
  });
  return db;
}

/** A new empty database (for tests that need several), dropped by the caller. */
export async function freshDatabase(prefix = 'x'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const url = await createDatabase(inject('pgAdminUrl'), name);
  return { url, name, drop: () => dropDatabase(inject('pgAdminUrl'), name) };
}
