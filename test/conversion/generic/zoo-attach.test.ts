import { afterAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion } from '../../../activities/conversion/plan/plan';
import { readTableDescriptor, parseTableName } from '../../../activities/conversion/descriptor';
import { createAttachActivities, type AttachInput } from '../../../activities/conversion/generic/attach';
import { keySql, rowKeyOf, startSqlLoad } from '../../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../../src/loadgen/sql/row-oracle';
import { createProfileResolver } from '../../../src/config/profiles';
import { carriedSignature } from './carried';
import { APP_ROLE_SQL, ZOO } from './shapes';
import { KIND_SHAPES, type ZooShape } from './kind-shapes';

const db = useTestDatabase();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let profiles: ReturnType<typeof createProfileResolver> | undefined;
const acts = () => createAttachActivities({ profiles: (profiles ??= createProfileResolver({ default: db.url })) });
afterAll(async () => profiles?.close());

/** Blockers only attach mode has: a shape that meets one converts in mode copy (zoo.test.ts). */
const ATTACH_ONLY = new Set(['attach-identity-column', 'attach-unique-key', 'attach-replica-identity']);

const keyDef = async (t: string) => (await db.pool.query(`SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, [t])).rows[0]?.d ?? null;

describe('the zoo in mode attach: attached under the generic load, then swapped back, oracle at zero', () => {
  const quoted = (t: string) => t.split('.').map((p) => `"${p}"`).join('.');
  for (const shape of [...ZOO, ...KIND_SHAPES] as ZooShape[]) {
    it(`attaches ${shape.name} (or names the attach-only blocker)`, async (ctx) => {
      const version = Number((await db.pool.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v);
      if (shape.minServer && version < shape.minServer) ctx.skip();
      await db.pool.query(APP_ROLE_SQL(app));
      await db.pool.query(shape.sql(app));
      const choice = parseConversionChoice({ table: shape.table, mode: 'attach', partitionBy: { column: shape.column, interval: shape.interval } });
      const plan = await db.withClient((c) => planConversion(c, choice));
      if (!plan.ok) {
        // Only attach's own blockers: the copy mode converts the shape.
        expect(plan.blockers.map((b) => b.code).filter((c) => !ATTACH_ONLY.has(c))).toEqual([]);
        expect(plan.modes.copy.ok).toBe(true);
        expect(plan.modes.recommended).toBe('copy');
        return;
      }
      const t = quoted(shape.table);
      const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(shape.table)))));
      const carried = await carriedSignature(db.pool, t);
      const originalKey = await keyDef(t);
      const baseline = await readImages(db.pool, t, key);
      const io: AttachInput = { profile: 'default', choice, planAt: Date.now(), lockTimeoutMs: 200, attachBound: plan.attach!.bound };
      const a = acts();
      const load = await startSqlLoad({ url: appUrl(), table: shape.table, ratePerSec: 100, seed: 5, baseline, spreadDays: 40 });
      try {
        await sleep(300);
        await a.attachPrepare(io);
        expect(await a.attachPrepare(io), 'prepare again: nothing to do').toMatchObject({ indexBuilt: false, checkAdded: false, validated: false });
        const post = await a.attachPostStatements(io);
        const s = await a.attachSwap(io);
        expect(s.swapped).toBe(true);
        expect(typeof s.lockMs).toBe('number');
        expect((await a.attachSwap(io)).swapped, 'swap again: already attached').toBe(false);
        await sleep(600);
        expect((await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = $1::regclass`, [t])).rows[0].relkind).toBe('p');
        expect(await carriedSignature(db.pool, t), 'every column kind and constraint carried on the parent').toEqual(carried);
        // The rows the load writes while attached (some into the new partitions) are judged after the swap back, once the load stopped.
        const back = await a.attachSwapBack({ profile: 'default', post, lockTimeoutMs: 200 });
        expect(back).toMatchObject({ swappedBack: true, droppedPartitioned: true });
        expect((await a.attachSwapBack({ profile: 'default', post, lockTimeoutMs: 200 })).swappedBack, 'swap back again: done').toBe(false);
        await sleep(300);
      } finally {
        await load.stop();
      }
      expect(load.stats().committed, load.stats().lastError).toBeGreaterThan(50);
      if (load.stats().refused > 0) expect(load.stats().lastError, `${load.stats().refused} refused`).toMatch(shape.refusalsExpected ?? /^$/);
      const v = await judgeRows(db.pool, t, key, baseline, load.log);
      expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
      expect((await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = $1::regclass`, [t])).rows[0].relkind).toBe('r');
      expect(await carriedSignature(db.pool, t), 'the heap as it was').toEqual(carried);
      expect(await keyDef(t), 'its own key again').toBe(originalKey);
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE conrelid = $1::regclass AND conname LIKE 'lichen_attach%'`, [t])).rows[0].n).toBe(0);
    });
  }
});
