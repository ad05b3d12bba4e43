/**
 * `npx tsx bench/probe-copy.ts [rows]`: where the any-table engine's copy spends its time, for
 * latest.md's B2 analysis. On one seeded memory_records heap (embedded Postgres) with the engine's
 * shadow and sync installed, each variant copies the whole heap into the emptied shadow, twice,
 * interleaved: the engine's batch statement as planned (plan/move-sql.ts), the same without FOR
 * SHARE, the same without FOR SHARE and ON CONFLICT, and INSERT … SELECT in key order and in heap
 * order (the limit). Prints rows/s of each (best of two) and its ratio to the limit.
 */
import { startPostgres } from '../src/devenv/postgres';
import { planConversion } from '../activities/conversion/plan/plan';
import { phase } from '../activities/conversion/generic/execute';
import { benchDatabase, rowsPerSecond, timed } from './env';
import { seedTable } from './data';
import { genericInput, insertSelectInto, preflight, shadowAndSync, TABLE } from './generic';

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 200_000);
  const pg = await startPostgres();
  const db = await benchDatabase(pg, 'heap', 'probe');
  try {
    await seedTable(db.pool, 'memory_records', rows, 6);
    const { io, plan } = await preflight(db.profiles, genericInput('copy'));
    await shadowAndSync(db.profiles, io);
    const shadow = plan.names.shadow;
    const p = await db.profiles.withClient('default', (c) => planConversion(c, io.choice, io.planAt, io.facts));
    const [lastKeySql, batchSql] = phase(p, 'copy');
    const upper = (await db.pool.query<{ last_key: string[] }>(lastKeySql)).rows[0].last_key;
    const batches = (sql: string) => async () => {
      let cursor: (string | null)[] = [null];
      for (;;) {
        const r = await db.pool.query<{ n: number; last_key: string[] | null }>(sql, [...cursor, ...upper, 10_000]);
        if (r.rows[0].last_key) cursor = r.rows[0].last_key;
        if (r.rows[0].n < 10_000) return;
      }
    };
    const variants: [string, () => Promise<unknown>][] = [
      ['engine batch (keyset on the key, FOR SHARE, ON CONFLICT DO NOTHING)', batches(batchSql)],
      ['same without FOR SHARE', batches(batchSql.replace(' FOR SHARE', ''))],
      ['same without FOR SHARE and ON CONFLICT', batches(batchSql.replace(' FOR SHARE', '').replace(/ON CONFLICT \([^)]*\) DO NOTHING /, ''))],
      ['INSERT … SELECT in key order', () => db.pool.query(`INSERT INTO ${shadow} SELECT * FROM ONLY ${TABLE} ORDER BY id`)],
      ['INSERT … SELECT (the limit)', () => insertSelectInto(db.pool, shadow, TABLE)],
    ];
    const best = new Map<string, number>();
    for (let round = 0; round < 2; round++) {
      for (const [name, run] of variants) {
        await db.pool.query(`TRUNCATE ${shadow}`);
        await db.pool.query(`VACUUM ANALYZE ${TABLE}`);
        const { ms } = await timed(run);
        const n = Number((await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${shadow}`)).rows[0].n);
        if (n !== rows) throw new Error(`${name}: copied ${n} rows, expected ${rows}`);
        best.set(name, Math.max(best.get(name) ?? 0, rowsPerSecond(rows, ms)));
      }
    }
    const limit = best.get('INSERT … SELECT (the limit)')!;
    for (const [name] of variants) process.stdout.write(`${name}: ${best.get(name)} rows/s, ${(best.get(name)! / limit).toFixed(2)} of the limit\n`);
  } finally {
    await db.drop();
    await pg.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
