import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion, type ConversionPlan } from '../../../activities/conversion/plan/plan';
import { copyAll, runPhase, runPhaseInTransaction } from '../../../activities/conversion/generic/execute';
import { Pool } from 'pg';

/**
 * The swap renames the table, replaces its views, moves its publications and (by choice) drops
 * the foreign keys pointing at it: each needs the worker's role to own that object (itself or by
 * membership). Before: the plan passed for a worker that owns nothing, or for a view another role
 * owns, and the run failed at the shadow or — after the whole copy — at the swap with 42501.
 * Now the plan names each object, its owner and the fix, before anything runs.
 */
const db = useTestDatabase();
const owner = `own_${process.pid}`;
const worker = `wrk_${process.pid}`;
const reporter = `rep_${process.pid}`;
const workerUrl = () => db.url.replace(/\/\/[^@]+@/, `//${worker}:w-pw@`);
let pool: Pool;

async function planAsWorker(table: string, options: Record<string, unknown> = {}): Promise<ConversionPlan> {
  const c = new Client({ connectionString: workerUrl() });
  c.on('error', () => undefined); // a connection the server ends (the database dropped at teardown): the next query reports it
  await c.connect();
  try {
    return await planConversion(c, parseConversionChoice({ table, partitionBy: { column: 'at', interval: 'month' }, options }));
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  for (const r of [owner, worker, reporter]) {
    await db.pool.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${r}') THEN CREATE ROLE ${r} LOGIN PASSWORD 'w-pw' NOSUPERUSER; END IF; END $$`);
  }
  await db.pool.query(`GRANT CONNECT, CREATE ON DATABASE ${db.url.split('/').pop()!.split('?')[0]} TO ${worker}, ${owner}, ${reporter}`);
  pool = new Pool({ connectionString: workerUrl(), max: 4 });
  pool.on('error', () => undefined); // idle clients the server ends (as db.pool): the next query reports it
});
afterAll(async () => {
  await pool?.end();
});

const TABLE = (schema: string) => `
  CREATE SCHEMA ${schema}; GRANT USAGE, CREATE ON SCHEMA ${schema} TO ${owner}, ${worker}, ${reporter};
  CREATE TABLE ${schema}.events (id bigserial PRIMARY KEY, at timestamptz NOT NULL, note text);
  INSERT INTO ${schema}.events (at, note) SELECT now() - g * interval '9 hours', 'n' || g FROM generate_series(1, 200) g;
  ALTER TABLE ${schema}.events OWNER TO ${owner};`;

describe('the worker must be able to alter every object the swap alters: the plan names the ones it cannot', () => {
  it('a worker that owns nothing (only SELECT and TRIGGER on the table): a blocker naming the table, its owner and the fix', async () => {
    await db.pool.query(`${TABLE('w1')} GRANT SELECT, TRIGGER ON w1.events TO ${worker};`);
    const p = await planAsWorker('w1.events');
    expect(p.ok).toBe(false);
    const b = p.blockers.find((x) => x.code === 'worker-cannot-alter');
    expect(b, JSON.stringify(p.blockers)).toBeDefined();
    expect(b!.object).toBe(worker);
    expect(b!.message).toContain(`table w1.events (owner ${owner})`);
    expect(b!.message).toContain(`GRANT ${owner} TO ${worker}`);
    // What the plan prevents: the run would fail at its first DDL.
    await expect(pool.connect().then(async (c) => {
      try { await runPhase(c, p, 'shadow'); } finally { c.release(); }
    })).rejects.toMatchObject({ code: '42501' });
  });

  it('the worker is the owner (by membership) but a view on the table belongs to another role: a blocker, where before the swap failed after the copy', async () => {
    await db.pool.query(`${TABLE('w2')} GRANT ${owner} TO ${worker};
      GRANT SELECT ON w2.events TO ${reporter};
      SET ROLE ${reporter}; CREATE VIEW w2.recent AS SELECT id, at FROM w2.events WHERE note <> ''; RESET ROLE;`);
    const p = await planAsWorker('w2.events');
    expect(p.ok).toBe(false);
    const b = p.blockers.find((x) => x.code === 'worker-cannot-alter');
    expect(b, JSON.stringify(p.blockers)).toBeDefined();
    expect(b!.message).toContain(`view w2.recent (owner ${reporter})`);
    expect(b!.message).not.toContain('table w2.events');
    // Without the blocker: the shadow, the sync and the whole copy run, then the swap refuses (42501), every time.
    const c = await pool.connect();
    try {
      await runPhase(c, p, 'shadow');
      await runPhaseInTransaction(c, p, 'sync', 500);
      await copyAll(pool, p, 100);
      await expect(runPhaseInTransaction(c, p, 'swap', 500)).rejects.toMatchObject({ code: '42501' });
    } finally {
      c.release();
    }
  });

  it('the foreign keys to drop at the swap: their tables must be the worker\'s too (only when drop is chosen)', async () => {
    await db.pool.query(`${TABLE('w3')} GRANT ${owner} TO ${worker};
      CREATE TABLE w3.refs (id int PRIMARY KEY, event_id bigint REFERENCES w3.events (id)); ALTER TABLE w3.refs OWNER TO ${reporter};`);
    const blocked = await planAsWorker('w3.events');
    expect(blocked.blockers.map((x) => x.code)).toEqual(['incoming-foreign-key']);
    const p = await planAsWorker('w3.events', { incomingForeignKeys: 'drop' });
    expect(p.ok).toBe(false);
    const b = p.blockers.find((x) => x.code === 'worker-cannot-alter');
    expect(b, JSON.stringify(p.blockers)).toBeDefined();
    expect(b!.message).toContain(`table w3.refs (owner ${reporter}; its foreign key refs_event_id_fkey is dropped at the swap)`);
  });

  it('the README\'s layout (the worker a member of the owner role, the views the owner\'s): no blocker', async () => {
    await db.pool.query(`${TABLE('w4')} GRANT ${owner} TO ${worker};
      SET ROLE ${owner}; CREATE VIEW w4.recent AS SELECT id, at FROM w4.events; RESET ROLE;`);
    const p = await planAsWorker('w4.events');
    expect(p.blockers).toEqual([]);
    expect(p.ok).toBe(true);
  });
});
