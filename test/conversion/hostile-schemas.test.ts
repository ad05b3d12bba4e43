import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { runCli } from '../cli/run-cli';
import type { ConversionPlan } from '../../activities/conversion/plan/plan';
import { parseConversionChoice, type ConversionChoice } from '../../src/conversion/choice/choice';
import { planConversion } from '../../activities/conversion/plan/plan';
import { renderPlan } from '../../activities/conversion/plan/render';
import { copyAll, dropOld, runPhase, runPhaseInTransaction, wholeParity } from '../../activities/conversion/generic/execute';
import { columnType } from '../../activities/conversion/generic/activities';
import { qualified } from '../../src/conversion/choice/names';
import { readTableDescriptor } from '../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { carriedSignature } from './generic/carried';
import { APP_ROLE_SQL } from './generic/shapes';
import { HOSTILE, type HostileCase } from './hostile-shapes';

const db = useTestDatabase();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The choice of a case, with its (possibly unparseable) names taken literally, as the zoo's parsed ones are. */
function choiceOf(c: HostileCase): ConversionChoice {
  const base = parseConversionChoice({ table: 'placeholder', partitionBy: { column: 'placeholder', interval: c.interval } });
  return { ...base, table: c.table, column: c.column };
}

const exists = async (rel: string) => (await db.pool.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [rel])).rows[0].ok;

describe('the hostile-schema corpus: converted online under the generic load as the app role (oracle at zero), or refused by the plan', () => {
  for (const c of HOSTILE) {
    it(`${c.blocker ? 'refuses' : 'converts'} ${c.name}`, async () => {
      await db.pool.query(APP_ROLE_SQL(app));
      await db.pool.query(c.sql(app));
      const table = qualified(c.table);
      const plan = await db.withClient((x) => planConversion(x, choiceOf(c)));
      if (c.blocker) {
        const b = plan.blockers.find((x) => x.code === c.blocker!.code);
        expect(b, `blocker ${c.blocker.code} in ${JSON.stringify(plan.blockers)}`).toBeDefined();
        expect(b!.object).toBe(c.blocker.object);
        for (const m of c.blocker.mentions) expect(b!.message).toContain(m);
        expect(plan.ok).toBe(false);
        expect(renderPlan(plan)).toContain(`[${c.blocker.code}]`);
        expect(await exists(plan.names.shadow), 'nothing ran').toBe(false);
        // `cutover plan` says the same, before anything runs: exit 1, the blocker and the application section.
        const cli = await runCli(['plan', 'conversion', '--table', `${c.table.schema}.${c.table.name}`, '--partition-by', c.column, '--interval', c.interval, '--profile', 'test', '--json'], { LICHEN_DB_PROFILE_TEST: db.url });
        expect(cli.code, cli.stderr).toBe(1);
        const j = cli.json<ConversionPlan>();
        expect(j.blockers.map((x) => x.code)).toContain(c.blocker.code);
        expect(j.appChanges).toContainEqual(expect.objectContaining({ object: c.blocker.object, severity: 'blocker' }));
        return;
      }
      expect(plan.blockers).toEqual([]);
      const key = keySql(rowKeyOf(await db.withClient((x) => readTableDescriptor(x, c.table))));
      const carried = await carriedSignature(db.pool, table);
      const baseline = await readImages(db.pool, table, key);
      const load = await startSqlLoad({ url: appUrl(), table: c.table, ratePerSec: 80, seed: 7, baseline, spreadDays: c.spreadDays ?? 20, mix: c.mix, concurrency: 4 });
      try {
        await sleep(300);
        await db.withClient((x) => runPhase(x, plan, 'shadow'));
        await db.withClient((x) => runPhaseInTransaction(x, plan, 'sync', 200));
        await copyAll(db.pool, plan, c.moves ? 10 : 25);
        if (c.moves) {
          const day = (img: Record<string, unknown> | undefined) => (img ? new Date(String(img[c.column])).toISOString().slice(0, 10) : null);
          const now = await readImages(db.pool, table, key);
          const moved = [...now].filter(([k, imgs]) => baseline.has(k) && day(baseline.get(k)![0]) !== day(imgs[0])).length;
          expect(moved, 'rows moved to another day\'s partition while the sync and the copy ran').toBeGreaterThan(0);
        }
        const colType = await db.withClient((x) => columnType(x, table, c.column));
        const p = await db.withClient((x) => wholeParity(x, plan.table, plan.names.shadow, c.column, colType));
        expect(p.b, 'parity before the swap').toEqual(p.a);
        await db.withClient((x) => runPhaseInTransaction(x, plan, 'swap', 200));
        await sleep(500);
        const r = await db.withClient((x) => wholeParity(x, plan.table, plan.names.old, c.column, colType));
        expect(r.b, 'the reverse sync keeps the old table equal').toEqual(r.a);
        await db.withClient((x) => dropOld(x, plan, 200));
        await sleep(200);
      } finally {
        await load.stop();
      }
      const s = load.stats();
      expect(s.committed, s.lastError).toBeGreaterThan(30);
      // Every application statement succeeds as it would on the heap (the conversion refuses none).
      if (s.refused > 0) expect(s.lastError, `${s.refused} refused`).toMatch(c.refusalsExpected ?? /^$/);
      const v = await judgeRows(db.pool, table, key, baseline, load.log);
      expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
      expect(await carriedSignature(db.pool, table), 'every column kind and constraint carried').toEqual(carried);
      if (c.after) expect((await db.pool.query<{ ok: boolean }>(c.after)).rows[0].ok, c.after).toBe(true);
      expect((await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = $1::regclass`, [table])).rows[0].relkind).toBe('p');
    });
  }
});
