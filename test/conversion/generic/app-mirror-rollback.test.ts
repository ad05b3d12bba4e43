import { afterAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { createGenericConversionActivities, type GenericInput, type PlanSummary } from '../../../activities/conversion/generic/activities';
import { createAppSyncActivities } from '../../../activities/conversion/app-sync';
import { markCovered } from '../../../activities/conversion/generic/app-mirror';
import { createProfileResolver } from '../../../src/config/profiles';
import { getControl } from '../../../src/memory-layer/control-plane';

/**
 * Sync "app-dual-write", the rollback before the swap (rollbackGenericBeforeSwap given io.app):
 * the app stops mirroring (barrier) before the shadow goes, and since the table then takes writes
 * alone, the shadow is judged while the mirror is still on. One live instance registered on the
 * control plane for `events`, at an epoch ahead of every change (it acknowledges each barrier).
 */
const db = useTestDatabase('heap');
let profiles: ReturnType<typeof createProfileResolver> | undefined;
afterAll(async () => profiles?.close());
const env = () => new MockActivityEnvironment();
const kinds = async () => (await db.pool.query<{ relname: string; relkind: string }>(
  `SELECT relname, relkind::text FROM pg_class WHERE relname IN ('events', 'events_partitioned', 'events_rolled_back') AND relnamespace = 'public'::regnamespace ORDER BY 1`)).rows;

describe('generic rollback before the swap with sync "app-dual-write"', () => {
  it('removes the mirror before the shadow, drops a shadow judged while the mirror was on, keeps aside one it cannot judge', async () => {
    await db.pool.query(`CREATE TABLE public.events (id bigint PRIMARY KEY, at timestamptz NOT NULL, body text);
      INSERT INTO public.events SELECT g, now() - g * interval '5 days', 'e' || g FROM generate_series(1, 60) g;
      INSERT INTO cutover_instances (instance_id, target, applied_epoch, applied_mode, last_heartbeat) VALUES ('events-app', 'events', 1000000, '{"persistence":"postgres"}', now())`);
    profiles = createProfileResolver({ default: db.url });
    const acts = createGenericConversionActivities({ profiles });
    const app = createAppSyncActivities({ profiles });
    const io: GenericInput = { profile: 'default', choice: parseConversionChoice({ table: 'events', partitionBy: { column: 'at', interval: 'month' } }), planAt: Date.now(), lockTimeoutMs: 500, app: { barrierTimeoutSeconds: 5 } };
    const ready = async (run: string) => {
      const plan = (await env().run(acts.planGenericConversion, { ...io, runId: run, workflowId: run })) as PlanSummary;
      expect(plan.appSync).toMatchObject({ target: 'events', shadow: 'events_partitioned', old: 'events_old', instances: ['events-app'] });
      io.facts = plan.facts;
      io.app = { ...io.app!, target: plan.appSync!.target };
      await acts.createGenericShadow(io);
      await env().run(app.installAppMirror, { profile: 'default', target: 'events', barrierTimeoutSeconds: 5, mirrorTable: 'events_partitioned' });
      expect((await getControl(db.pool, 'events'))!.mode.mirrorTable).toBe('events_partitioned');
      // What the copy and the app's mirrored writes leave: the shadow in step with the table.
      await db.pool.query(`INSERT INTO public.events_partitioned SELECT * FROM public.events`);
      // The run's registry entry ends as the workflow's rollback would end it: the next case plans again.
      await db.pool.query(`UPDATE cutover_runs SET status = 'rolled_back', ended_at = now() WHERE run_id = $1`, [run]);
    };

    // 1. The mirror on the shadow, in step: judged under the locks, the mirror removed, the shadow dropped.
    await ready('r1');
    expect(await env().run(acts.rollbackGenericBeforeSwap, io)).toEqual({});
    expect((await getControl(db.pool, 'events'))!.mode.mirrorTable).toBeUndefined();
    expect(await kinds()).toEqual([{ relname: 'events', relkind: 'r' }]);

    // 2. A retry after an earlier attempt judged the shadow and removed the mirror, the table written alone since: still dropped.
    await ready('r2');
    await db.withClient(async (c) => markCovered(c, 'public.events_partitioned'));
    await env().run(app.removeAppMirror, { profile: 'default', target: 'events', barrierTimeoutSeconds: 5, reason: 'an earlier attempt' });
    await db.pool.query(`UPDATE public.events SET body = 'written alone' WHERE id = 7; DELETE FROM public.events WHERE id = 8`);
    expect(await env().run(acts.rollbackGenericBeforeSwap, io)).toEqual({});
    expect(await kinds()).toEqual([{ relname: 'events', relkind: 'r' }]);

    // 3. Never judged (the mirror already gone, no mark) and diverged: the usual check keeps it aside, never drops it.
    await ready('r3');
    await env().run(app.removeAppMirror, { profile: 'default', target: 'events', barrierTimeoutSeconds: 5, reason: 'removed outside the run' });
    await db.pool.query(`UPDATE public.events SET body = 'written alone' WHERE id = 9`);
    const kept = (await env().run(acts.rollbackGenericBeforeSwap, io)) as { kept?: { table: string; rowsOnlyThere: number } };
    expect(kept.kept).toMatchObject({ table: '"public"."events_rolled_back"', rowsOnlyThere: 1 });
    expect(await kinds()).toEqual([{ relname: 'events', relkind: 'r' }, { relname: 'events_rolled_back', relkind: 'p' }]);
  });
});
