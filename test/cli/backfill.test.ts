import { describe, expect, it } from 'vitest';
import { useCutoverEnv } from '../helpers/cutover-env';
import { applyPlan } from '../../src/migrations/runner';
import { runCli } from './run-cli';

const env = useCutoverEnv({ instances: 2, seed: 400, months: 3 });
// Credentials by reference only: the profile and the token reference name environment variables.
const cliEnv = () => ({ LICHEN_DB_PROFILE_TEST: env.db.url, LICHEN_ADMIN_TOKEN_FLEET: env.apps.adminToken });
const common = () => ['--apps', env.urls().join(','), '--admin-token-ref', 'fleet', '--profile', 'test', '--json'];

interface MonthDoc { month: string; match: boolean; memory: { count: number }; postgres: { count: number }; drift: { missing: number } }

describe("cutover backfill and verify: the runbook's backfill script by hand", () => {
  it('dry-runs, finds the drift, copies every record, then verifies parity per month', async () => {
    await env.db.withClient((c) => applyPlan(c, 'partitioned'));

    const dry = await runCli(['backfill', '--dry-run', ...common()], cliEnv());
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json()).toMatchObject({ dryRun: true, rows: 400, written: 0 });
    expect((await env.db.pool.query('SELECT count(*)::int AS n FROM memory_records')).rows[0].n).toBe(0);

    // The seed was just written: with the default grace its rows would count as writes in flight.
    const before = await runCli(['verify', '--grace-ms', '0', ...common()], cliEnv());
    expect(before.code).toBe(1);
    const drift = before.json<{ ok: boolean; months: MonthDoc[] }>();
    expect(drift.ok).toBe(false);
    expect(drift.months.reduce((a, m) => a + m.drift.missing, 0)).toBe(400);

    const run = await runCli(['backfill', '--batch-size', '50', ...common()], cliEnv());
    expect(run.code, run.stderr).toBe(0);
    const doc = run.json<{ rows: number; written: number; partitionsCreated: string[] }>();
    expect(doc).toMatchObject({ rows: 400, written: 400 });
    expect(run.stderr).toMatch(/rows\/s, ETA/); // progress lines on stderr, the document on stdout
    expect((await env.db.pool.query('SELECT count(*)::int AS n FROM memory_records')).rows[0].n).toBe(400);

    const after = await runCli(['verify', '--grace-ms', '0', ...common()], cliEnv());
    expect(after.code, after.stderr).toBe(0);
    const ok = after.json<{ ok: boolean; months: MonthDoc[] }>();
    expect(ok.ok).toBe(true);
    expect(ok.months.length).toBeGreaterThanOrEqual(3);
    expect(ok.months.every((m) => m.match && m.memory.count === m.postgres.count)).toBe(true);
    expect(run.stdout + run.stderr + after.stdout + after.stderr).not.toContain(env.apps.adminToken);

    // Drift of both kinds of extra row. A record deleted through the app (memory only, as if
    // the Postgres half of a dual-write delete had failed): the memory store remembers the
    // delete, so --repair removes the row. A row only Postgres has, of which no memory store
    // knows anything (it may be a write Postgres acknowledged as primary): kept.
    const victim = [...env.seedLog.records()][0];
    const del = await fetch(`${victim.instance}/records/${victim.id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    const orphan = crypto.randomUUID();
    await env.db.pool.query(
      `INSERT INTO memory_records (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at)
       SELECT $1::uuid, owner_id, agent_id, kind, content, metadata, created_at, updated_at FROM memory_records WHERE id = $2::uuid`,
      [orphan, victim.id],
    );
    const drifted = await runCli(['verify', '--grace-ms', '0', ...common()], cliEnv());
    expect(drifted.code, drifted.stderr).toBe(1);
    const extra = drifted.json<{ months: (MonthDoc & { drift: { extra: number } })[] }>().months.reduce((a, m) => a + m.drift.extra, 0);
    expect(extra).toBe(1);
    const repaired = await runCli(['verify', '--repair', '--grace-ms', '0', ...common()], cliEnv());
    expect(repaired.code, repaired.stderr).toBe(0);
    const left = await env.db.pool.query<{ id: string }>('SELECT id::text AS id FROM memory_records WHERE id = ANY($1::uuid[])', [[victim.id, orphan]]);
    expect(left.rows.map((r) => r.id)).toEqual([orphan]);
  });

  it('names the environment variable to set for an unknown token reference (exit 2)', async () => {
    const r = await runCli(['verify', '--apps', env.urls()[0], '--admin-token-ref', 'other', '--profile', 'test'], cliEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('LICHEN_ADMIN_TOKEN_OTHER');
  });
});
