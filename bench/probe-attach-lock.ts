/**
 * `npx tsx bench/probe-attach-lock.ts [rows] [whole|ahead]`: what mode attach's swap holds under
 * its ACCESS EXCLUSIVE lock, for latest.md's B8 notes. On a seeded heap of memory_records' shape
 * (with its UNIQUE (id, created_at), which the plan uses as the key), runs the attach prepare, then
 * the swap's statements in one transaction: `ahead` (the parent and its partitions built by the
 * prepare, as runs take now) or `whole` (the parent built inside the lock, as runs whose prepare
 * built none). Prints BEGIN→COMMIT and the slowest statements. DATABASE_URL, else an embedded Postgres.
 */
import pg from 'pg';
import { planConversion } from '../activities/conversion/plan/plan';
import { parseConversionChoice } from '../src/conversion/choice/choice';
import { createDatabase, startPostgres } from '../src/devenv/postgres';

async function main() {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const server = await startPostgres();
  const c = new pg.Client({ connectionString: await createDatabase(server.url, `probe_attach_${process.pid}`) });
  await c.connect();
  await c.query(`CREATE TABLE memory_records (id uuid NOT NULL, owner_id text NOT NULL, agent_id text, kind text NOT NULL DEFAULT 'note', content text NOT NULL, metadata jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memory_records_pkey PRIMARY KEY (id), CONSTRAINT memory_records_id_created_key UNIQUE (id, created_at))`);
  await c.query(`CREATE INDEX memory_records_owner_created_idx ON memory_records (owner_id, created_at); CREATE INDEX memory_records_created_idx ON memory_records (created_at)`);
  await c.query(`INSERT INTO memory_records (id, owner_id, content, created_at) SELECT gen_random_uuid(), 'o' || (g % 100), repeat('x', 100), now() - (g % 180) * interval '1 day' - g * interval '1 ms' FROM generate_series(1, $1) g`, [rows]);
  await c.query('VACUUM ANALYZE memory_records');
  const choice = parseConversionChoice({ table: 'memory_records', mode: 'attach', partitionBy: { column: 'created_at', interval: 'month' } });
  const p = await planConversion(c, choice);
  if (!p.attach) throw new Error(JSON.stringify(p.blockers));
  const fixed = { attachBound: p.attach.bound };
  const whole = process.argv[3] === 'whole';
  for (const s of p.phases.find((x) => x.phase === 'attach prepare')!.statements.filter((x) => !(whole && p.attach!.parent.includes(x)))) { const t = performance.now(); await c.query(s); console.log('prepare', Math.round(performance.now() - t), 'ms', s.slice(0, 70)); }
  const q = await planConversion(c, choice, Date.now(), p.facts, fixed);
  const stmts = whole ? q.attach!.swapWhole : q.attach!.swap;
  const t0 = performance.now();
  await c.query('BEGIN');
  const times: [number, string][] = [];
  for (const s of stmts) { const t = performance.now(); await c.query(s); times.push([performance.now() - t, s.slice(0, 90)]); }
  await c.query('COMMIT');
  const total = performance.now() - t0;
  console.log(`swap (${whole ? 'whole' : 'parent ahead'}): ${stmts.length} statements, BEGIN..COMMIT ${total.toFixed(1)} ms`);
  for (const [ms, s] of times.sort((x, y) => y[0] - x[0]).slice(0, 8)) console.log(`  ${ms.toFixed(1)} ms  ${s}`);
  await c.end();
  await server.stop();
}
main().catch((e) => { console.error(e); process.exit(1); });
