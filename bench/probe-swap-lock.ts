/**
 * `npx tsx bench/probe-swap-lock.ts [rows] [writes]`: what the one engine's swap (swapGeneric, mode
 * copy, change-log engine) holds under its ACCESS EXCLUSIVE lock, for B4's notes. On a seeded heap
 * of memory_records' shape, armed as B4 arms it (memory_records' preset: shadow, sync, snapshot
 * copy, replay), `writes` app writes (half inserts, half updates) are logged, then the swap's
 * statements run in one transaction, rolled back. Prints BEGIN→ROLLBACK, the slowest statements
 * and the plans of the log's check and of the replay's DELETE from the shadow. It found B4's cause: with no
 * statistics on the replay's keys table nor on the shadow's partitions the planner scanned the whole
 * shadow under the lock to delete a few logged keys; the engine now ANALYZEs both (the keys table in
 * the replay, each partition after the copy's swap-in). An embedded Postgres.
 */
import crypto from 'node:crypto';
import { planConversion } from '../activities/conversion/plan/plan';
import { startPostgres } from '../src/devenv/postgres';
import { benchDatabase } from './env';
import { seedTable } from './data';
import { preflight, presetInput, runGenericCopy, shadowAndSync } from './generic';

async function main() {
  const rows = Number(process.argv[2] ?? 100_000);
  const writes = Number(process.argv[3] ?? 30);
  const server = await startPostgres();
  const db = await benchDatabase(server, 'heap', 'probe_swap');
  try {
    await seedTable(db.pool, 'memory_records', rows, 6);
    const { io } = await preflight(db.profiles, presetInput());
    await shadowAndSync(db.profiles, io);
    await runGenericCopy(db.profiles, io);
    const ids: string[] = [];
    for (let k = 0; k < writes; k++) {
      if (k % 2 && ids.length) await db.pool.query(`UPDATE memory_records SET content = $2, updated_at = clock_timestamp() WHERE id = $1`, [ids[k % ids.length], `u${k}`]);
      else {
        ids.push(crypto.randomUUID());
        await db.pool.query(`INSERT INTO memory_records (id, owner_id, kind, content, metadata, created_at, updated_at) VALUES ($1, 'probe', 'note', 'x', '{}', now(), now())`, [ids[ids.length - 1]]);
      }
    }
    const c = await db.pool.connect();
    try {
      const p = await planConversion(c, io.choice, io.planAt, io.facts, { changeLog: true });
      const stmts = p.phases.find((x) => x.phase === 'swap')!.statements;
      const check = stmts.find((s) => s.startsWith('DO $lichen$'));
      const inner = check ? /IF EXISTS \(([\s\S]+)\) THEN/.exec(check)?.[1] : undefined;
      if (inner) console.log((await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN ANALYZE ${inner}`)).rows.map((r) => r['QUERY PLAN']).join('\n'));
      const times: [number, string][] = [];
      const t0 = performance.now();
      await c.query('BEGIN');
      for (const s of stmts) {
        const t = performance.now();
        // The replay's DELETE from the shadow (the slowest statement measured at 100k rows): its plan, run as the statement itself.
        if (s.startsWith('DELETE FROM') && s.includes(' USING ')) console.log((await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${s}`)).rows.map((r) => r['QUERY PLAN']).join('\n'));
        else await c.query(s);
        times.push([performance.now() - t, s.replace(/\s+/g, ' ').slice(0, 110)]);
      }
      await c.query('ROLLBACK');
      console.log(`swap at ${rows} rows, ${writes} writes logged: ${stmts.length} statements, BEGIN..ROLLBACK ${(performance.now() - t0).toFixed(1)} ms`);
      for (const [ms, s] of times.sort((x, y) => y[0] - x[0]).slice(0, 8)) console.log(`  ${ms.toFixed(1)} ms  ${s}`);
    } finally {
      c.release();
    }
  } finally {
    await db.drop();
    await server.stop();
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
