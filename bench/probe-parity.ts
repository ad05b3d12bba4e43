/**
 * `npx tsx bench/probe-parity.ts [rows]`: where the any-table engine's parity (B3b) spends its time,
 * for latest.md's analysis. On one seeded memory_records heap (embedded Postgres) copied by the
 * engine's own activities, times genericParity as new runs call it and the two bare checksum scans
 * (the limit), interleaved, twice; then prints the plans (EXPLAIN ANALYZE) of one partition range's
 * heap and shadow statements as the parity runs them.
 */
import { startPostgres } from '../src/devenv/postgres';
import { planConversion } from '../activities/conversion/plan/plan';
import { partitionRangeSql } from '../activities/conversion/plan/range-parity-sql';
import { benchDatabase, rowsPerSecond } from './env';
import { seedTable } from './data';
import { bareRowChecksumScan, genericInput, preflight, runGenericCopy, runGenericParity, shadowAndSync, TABLE } from './generic';

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 200_000);
  const pg = await startPostgres();
  const db = await benchDatabase(pg, 'heap', 'probe');
  try {
    await seedTable(db.pool, 'memory_records', rows, 6);
    const { io, plan } = await preflight(db.profiles, genericInput('copy'));
    await shadowAndSync(db.profiles, io);
    await db.pool.query(`VACUUM ANALYZE ${TABLE}`);
    await runGenericCopy(db.profiles, io);
    const shadow = plan.names.shadow;
    for (let round = 0; round < 2; round++) {
      const ours = await runGenericParity(db.profiles, io);
      const a = await bareRowChecksumScan(db.pool, TABLE);
      const b = await bareRowChecksumScan(db.pool, shadow);
      const limit = rowsPerSecond(rows, a.ms + b.ms);
      process.stdout.write(`round ${round + 1}: parity ${ours.ms.toFixed(0)} ms (${ours.ranges} ranges, match ${ours.match}) = ${rowsPerSecond(rows, ours.ms)} rows/s; bare scans ${a.ms.toFixed(0)} + ${b.ms.toFixed(0)} ms = ${limit} rows/s; ratio ${(rowsPerSecond(rows, ours.ms) / limit).toFixed(2)}\n`);
    }
    const part = (await db.pool.query<{ rel: string; lo: string; hi: string }>(
      `SELECT c.oid::regclass::text AS rel, (regexp_match(pg_get_expr(c.relpartbound, c.oid), $$FROM \\('([^']*)'\\) TO \\('([^']*)'\\)$$))[1] AS lo,
              (regexp_match(pg_get_expr(c.relpartbound, c.oid), $$FROM \\('([^']*)'\\) TO \\('([^']*)'\\)$$))[2] AS hi
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1)
          AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT' ORDER BY c.relname LIMIT 1 OFFSET 3`, [shadow])).rows[0];
    const p = await db.profiles.withClient('default', (x) => planConversion(x, io.choice, io.planAt, io.facts));
    const sql = partitionRangeSql({ columns: ['id'], types: ['uuid'] }, { name: 'created_at', type: 'timestamp with time zone' }, TABLE, shadow, p.changeLog?.notLogged);
    const c = await db.pool.connect();
    try {
      // Each side of that range under each scan choice, best of two: the parity's choice (the heap: no sequential scan; the shadow: the planner's) against the others.
      const variants: [string, string, string][] = [
        ['heap, index or bitmap (the parity)', sql.heap, 'SET LOCAL enable_seqscan = off'],
        ['heap, bitmap only', sql.heap, 'SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off'],
        ['heap, planner', sql.heap, 'SELECT 1'],
        ['shadow, planner (the parity)', sql.shadow, 'SELECT 1'],
        ['shadow, index or bitmap (a sub-range)', sql.shadow, 'SET LOCAL enable_seqscan = off'],
        ['shadow, bitmap only', sql.shadow, 'SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off'],
      ];
      for (const [name, stmt, set] of variants) {
        let best = Number.POSITIVE_INFINITY;
        for (let k = 0; k < 2; k++) {
          await c.query('BEGIN');
          await c.query(set);
          const t = performance.now();
          await c.query(stmt, [part.lo, part.hi, false, null, null]);
          best = Math.min(best, performance.now() - t);
          await c.query('COMMIT');
        }
        process.stdout.write(`${name}: ${best.toFixed(0)} ms\n`);
      }
      for (const [side, s, seq] of [['heap', sql.heap, 'off'], ['shadow', sql.shadow, 'on']] as const) {
        await c.query('BEGIN');
        await c.query(`SET LOCAL enable_seqscan = ${seq}`);
        const r = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${s}`, [part.lo, part.hi, false, null, null]);
        await c.query('COMMIT');
        process.stdout.write(`--- ${side} side of ${part.rel} [${part.lo}, ${part.hi}):\n${r.rows.map((x) => x['QUERY PLAN']).join('\n')}\n`);
      }
    } finally {
      c.release();
    }
  } finally {
    await db.drop();
    await pg.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
