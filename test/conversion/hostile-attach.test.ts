import { afterAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { parseConversionChoice, type ConversionChoice } from '../../src/conversion/choice/choice';
import { planConversion } from '../../activities/conversion/plan/plan';
import { qualified } from '../../src/conversion/choice/names';
import { readTableDescriptor } from '../../activities/conversion/descriptor';
import { createAttachActivities, type AttachInput } from '../../activities/conversion/generic/attach';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { createProfileResolver } from '../../src/config/profiles';
import { carriedSignature } from './generic/carried';
import { APP_ROLE_SQL } from './generic/shapes';
import { HOSTILE, type HostileCase } from './hostile-shapes';

/**
 * The hostile-schema corpus (hostile-shapes.ts, converted in mode copy by hostile-schemas.test.ts)
 * in mode attach: each case is attached under the generic load as the app role, then swapped
 * back; the row oracle at zero and the heap as it was. A case the copy mode refuses is refused
 * here too; one only attach refuses names an attach blocker and the copy mode is recommended.
 */
const db = useTestDatabase();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let profiles: ReturnType<typeof createProfileResolver> | undefined;
const acts = () => createAttachActivities({ profiles: (profiles ??= createProfileResolver({ default: db.url })) });
afterAll(async () => profiles?.close());

function choiceOf(c: HostileCase): ConversionChoice {
  const base = parseConversionChoice({ table: 'placeholder', mode: 'attach', partitionBy: { column: 'placeholder', interval: c.interval } });
  return { ...base, table: c.table, column: c.column };
}
const ATTACH_ONLY = new Set(['attach-identity-column', 'attach-unique-key', 'attach-replica-identity', 'attach-values-outside']);
const keyDef = async (t: string) => (await db.pool.query(`SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, [t])).rows[0]?.d ?? null;

describe('the hostile-schema corpus in mode attach: attached and swapped back under the generic load, oracle at zero', () => {
  for (const c of HOSTILE) {
    it(`${c.blocker ? 'refuses' : 'attaches'} ${c.name}`, async () => {
      await db.pool.query(APP_ROLE_SQL(app));
      await db.pool.query(c.sql(app));
      const table = qualified(c.table);
      const choice = choiceOf(c);
      const plan = await db.withClient((x) => planConversion(x, choice));
      if (c.blocker) {
        expect(plan.blockers.map((b) => b.code)).toContain(c.blocker.code);
        expect(plan.ok).toBe(false);
        return;
      }
      if (!plan.ok) {
        expect(plan.blockers.map((b) => b.code).filter((x) => !ATTACH_ONLY.has(x))).toEqual([]);
        expect(plan.modes).toMatchObject({ copy: { ok: true }, recommended: 'copy' });
        return;
      }
      const key = keySql(rowKeyOf(await db.withClient((x) => readTableDescriptor(x, c.table))));
      const carried = await carriedSignature(db.pool, table);
      const originalKey = await keyDef(table);
      const baseline = await readImages(db.pool, table, key);
      const io: AttachInput = { profile: 'default', choice, planAt: Date.now(), lockTimeoutMs: 200, attachBound: plan.attach!.bound };
      const a = acts();
      const load = await startSqlLoad({ url: appUrl(), table: c.table, ratePerSec: 80, seed: 7, baseline, spreadDays: c.spreadDays ?? 20, mix: c.mix, concurrency: 4 });
      try {
        await sleep(300);
        await a.attachPrepare(io);
        const post = await a.attachPostStatements(io);
        expect((await a.attachSwap(io)).swapped).toBe(true);
        await sleep(500);
        expect((await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = $1::regclass`, [table])).rows[0].relkind).toBe('p');
        expect(await carriedSignature(db.pool, table), 'every column kind and constraint carried on the parent').toEqual(carried);
        if (c.after) expect((await db.pool.query<{ ok: boolean }>(c.after)).rows[0].ok, c.after).toBe(true);
        expect(await a.attachSwapBack({ profile: 'default', post, lockTimeoutMs: 200 })).toMatchObject({ swappedBack: true, droppedPartitioned: true });
        await sleep(300);
      } finally {
        await load.stop();
      }
      const s = load.stats();
      expect(s.committed, s.lastError).toBeGreaterThan(30);
      if (s.refused > 0) expect(s.lastError, `${s.refused} refused`).toMatch(c.refusalsExpected ?? /^$/);
      const v = await judgeRows(db.pool, table, key, baseline, load.log);
      expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
      expect((await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = $1::regclass`, [table])).rows[0].relkind).toBe('r');
      expect(await carriedSignature(db.pool, table), 'the heap as it was').toEqual(carried);
      expect(await keyDef(table), 'its own key again').toBe(originalKey);
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE conrelid = $1::regclass AND conname LIKE 'lichen_attach%'`, [table])).rows[0].n).toBe(0);
    });
  }
});
