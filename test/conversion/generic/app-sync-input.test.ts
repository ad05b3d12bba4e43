import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../helpers/db';
import { runCli } from '../../cli/run-cli';
import { parseGenericConversionInput } from '../../../workflows/conversion/generic-input';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { planConversion, type ConversionPlan } from '../../../activities/conversion/plan/plan';
import { phase } from '../../../activities/conversion/generic/execute';
import { InputError } from '../../../src/shared/input-reader';

// Sync "app-dual-write" as an option of the any-table engine (the form with `table`): what the
// input accepts and refuses, what the plan of the app's sync is, and `cutover plan` refusing it
// when no app instance can mirror the table.
const base = { table: 'events', partitionBy: { column: 'at', interval: 'month' } };
const refusal = (input: unknown): { field: string; message: string } => {
  try {
    parseGenericConversionInput(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return { field: (err as InputError).field, message: (err as Error).message };
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`);
};

describe('heapToPartitionedConversion input for any table: sync', () => {
  it('takes "trigger" (the default, as before) and "app-dual-write" with its barrier timeout (default 60 s)', () => {
    const none = parseGenericConversionInput(base);
    expect(none.sync).toBeUndefined();
    expect(none.appBarrierTimeoutSeconds).toBeUndefined();
    expect(parseGenericConversionInput({ ...base, sync: 'trigger' })).toEqual(none);
    const app = parseGenericConversionInput({ ...base, sync: 'app-dual-write' });
    expect({ sync: app.sync, appBarrierTimeoutSeconds: app.appBarrierTimeoutSeconds }).toEqual({ sync: 'app-dual-write', appBarrierTimeoutSeconds: 60 });
    expect(parseGenericConversionInput({ ...base, sync: 'app-dual-write', appBarrierTimeoutSeconds: 20 }).appBarrierTimeoutSeconds).toBe(20);
    expect(parseGenericConversionInput({ ...base, mode: 'copy', sync: 'app-dual-write' }).sync).toBe('app-dual-write');
  });

  it('refuses any other value, naming sync and what is allowed', () => {
    for (const sync of ['app', 'dual-write', 'APP-DUAL-WRITE', '', 1, null, true, ['trigger']]) {
      const r = refusal({ ...base, sync });
      expect(r.field).toBe('sync');
      expect(r.message).toBe('sync: must be one of "trigger", "app-dual-write"');
    }
  });

  it('refuses sync "app-dual-write" with mode "attach", naming sync', () => {
    const r = refusal({ ...base, mode: 'attach', sync: 'app-dual-write' });
    expect(r.field).toBe('sync');
    expect(r.message).toMatch(/^sync: sync "app-dual-write" applies only to mode "copy"/);
    // The trigger (or no sync) stays allowed with mode attach.
    expect(parseGenericConversionInput({ ...base, mode: 'attach', sync: 'trigger' }).choice.mode).toBe('attach');
  });

  it('refuses appBarrierTimeoutSeconds without sync "app-dual-write", or out of 5–240', () => {
    expect(refusal({ ...base, appBarrierTimeoutSeconds: 20 })).toEqual({ field: 'appBarrierTimeoutSeconds', message: expect.stringMatching(/applies only with sync "app-dual-write"/) });
    expect(refusal({ ...base, sync: 'trigger', appBarrierTimeoutSeconds: 20 }).field).toBe('appBarrierTimeoutSeconds');
    for (const t of [4, 241, 2.5, '20']) expect(refusal({ ...base, sync: 'app-dual-write', appBarrierTimeoutSeconds: t }).field).toBe('appBarrierTimeoutSeconds');
  });
});

describe('the plan of sync "app-dual-write", and cutover plan refusing it without an app', () => {
  const db = useTestDatabase('heap');
  const setUp = async () => {
    await db.pool.query(`CREATE TABLE IF NOT EXISTS public.events (id bigint PRIMARY KEY, at timestamptz NOT NULL, body text);
      INSERT INTO public.events SELECT g, now() - g * interval '9 days', 'e' || g FROM generate_series(1, 40) g ON CONFLICT DO NOTHING;
      CREATE SCHEMA IF NOT EXISTS ops; CREATE TABLE IF NOT EXISTS ops.events (id bigint PRIMARY KEY, at timestamptz NOT NULL)`);
  };
  const plan = (table: string, appSync: boolean): Promise<ConversionPlan> =>
    db.withClient((c) => planConversion(c, parseConversionChoice({ table, partitionBy: { column: 'at', interval: 'month' } }), Date.now(), undefined, appSync ? { appSync: true } : {}));

  it('has no trigger: the sync phase is empty, the swap and the swap back install and drop none', async () => {
    await setUp();
    const trigger = await plan('events', false);
    const app = await plan('events', true);
    expect(app.ok, JSON.stringify(app.blockers)).toBe(true);
    expect(phase(trigger, 'sync').join('\n')).toMatch(/lichen_conversion_sync_forward/);
    expect(phase(app, 'sync')).toEqual([]);
    expect(app.phases.find((x) => x.phase === 'sync')!.what).toMatch(/^no trigger: every live instance of the application mirrors each write/);
    expect(app.phases.find((x) => x.phase === 'partitions')!.what).toMatch(/the app's mirror writes in the application's transaction and cannot keep a write out/);
    for (const name of ['swap', 'rollback after swap'] as const) {
      expect(phase(trigger, name).join('\n')).toMatch(/lichen_conversion_sync/);
      expect(phase(app, name).join('\n')).not.toMatch(/lichen_conversion_sync|lichen_sync_/);
    }
    // The rest of the swap is the trigger's: the same renames.
    expect(phase(app, 'swap').filter((x) => /RENAME/.test(x))).toEqual(phase(trigger, 'swap').filter((x) => /RENAME/.test(x)));
  });

  it('blocks a table outside schema public (the control plane names the mirror unqualified)', async () => {
    await setUp();
    const p = await plan('ops.events', true);
    expect(p.ok).toBe(false);
    expect(p.blockers).toEqual([expect.objectContaining({ code: 'app-sync-names', message: expect.stringMatching(/"ops"\."events" is in schema ops, not public; use sync "trigger"/) })]);
    expect((await plan('ops.events', false)).ok).toBe(true);
  });

  it('cutover plan with sync "app-dual-write": no live instance of the table is a blocker (exit 1); a live one in Postgres clears it', async () => {
    await setUp();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'appsync-')), 'input.json');
    fs.writeFileSync(file, JSON.stringify({ ...base, sync: 'app-dual-write', appBarrierTimeoutSeconds: 20 }));
    const env = { LICHEN_DB_PROFILE_TEST: db.url };
    const args = ['plan', 'conversion', '--input', file, '--profile', 'test', '--json'];
    const blocked = await runCli(args, env);
    expect(blocked.code, blocked.stderr).toBe(1);
    const b = blocked.json<ConversionPlan>();
    expect(b.ok).toBe(false);
    expect(b.blockers).toEqual([expect.objectContaining({ code: 'app-sync-unavailable', object: 'events', message: expect.stringMatching(/no live instance of events is registered on the control plane/) })]);
    // The plan shown is the app's: no trigger.
    expect(b.phases.find((x) => x.phase === 'sync')!.statements).toEqual([]);

    await db.pool.query(`INSERT INTO cutover_instances (instance_id, target, applied_epoch, applied_mode, last_heartbeat) VALUES ('events-app-1', 'events', 0, '{"persistence":"postgres"}', now())`);
    const ok = await runCli(args, env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json<ConversionPlan>().blockers).toEqual([]);
    // The same input without the app option plans the trigger and ignores the control plane.
    fs.writeFileSync(file, JSON.stringify(base));
    await db.pool.query(`DELETE FROM cutover_instances WHERE instance_id = 'events-app-1'`);
    const trigger = await runCli(args, env);
    expect(trigger.code, trigger.stderr).toBe(0);
  });
});
