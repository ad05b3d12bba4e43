import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { runCli } from './run-cli';
import { migrationsDir, projectRoot } from '../../src/devenv/paths';

const db = useTestDatabase();
// The database is named by a profile, never by a URL on the command line.
const env = () => ({ LICHEN_DB_PROFILE_TEST: db.url });

interface Finding { check: string; ok: boolean; detail: string; fix?: string }

describe('cutover CLI: hand-run database steps against a real Postgres', () => {
  it('doctor reports the absent table with its fix, then migrate, partitions and doctor agree', async () => {
    const before = await runCli(['doctor', '--profile', 'test', '--json'], env());
    expect(before.code).toBe(1);
    const b = before.json<{ ok: boolean; findings: Finding[] }>();
    expect(b.ok).toBe(false);
    expect(b.findings[0]).toMatchObject({ check: 'table state', ok: false, fix: expect.stringContaining('cutover migrate --plan partitioned') });

    const m = await runCli(['migrate', '--plan', 'partitioned', '--profile', 'test', '--json'], env());
    expect(m.code, m.stderr).toBe(0);
    expect(m.json<{ results: { name: string; outcome: string }[] }>().results.map((r) => [r.name, r.outcome])).toEqual([
      ['003_control_plane.sql', 'applied'],
      ['004_control_plane_mirror.sql', 'applied'],
      ['005_app_role.sql', 'applied'],
      ['007_instance_membership.sql', 'applied'],
      ['008_app_role_runs.sql', 'applied'],
      ['002_partitions.sql', 'applied'],
      ['006_partition_function.sql', 'applied'],
    ]);
    const again = await runCli(['migrate', '--profile', 'test', '--json'], env());
    expect(again.json<{ results: { outcome: string }[] }>().results.every((r) => r.outcome === 'skipped')).toBe(true);

    const p = await runCli(['partitions', '--profile', 'test', '--json'], env());
    expect(p.code).toBe(0);
    const parts = p.json<{ partitions: { name: string; bounds: string; bytes: number }[] }>().partitions;
    expect(parts.length).toBe(3); // the current month and the next two
    expect(parts[0].name).toMatch(/^memory_records_\d{4}_\d{2}$/);
    expect(parts[0].bounds).toMatch(/^FOR VALUES FROM \('\d{4}-\d{2}-01/);
    expect(parts.every((x) => x.bytes > 0)).toBe(true);

    const healthy = await runCli(['doctor', '--profile', 'test', '--json'], env());
    expect(healthy.code).toBe(0);
    expect(healthy.json<{ findings: Finding[] }>().findings.filter((f) => !f.ok)).toEqual([]);
  });

  it('doctor names rows in the default partition and an invalid index, each with its fix', async () => {
    await db.pool.query(`CREATE TABLE IF NOT EXISTS memory_records_default PARTITION OF memory_records DEFAULT`);
    await db.pool.query(`INSERT INTO memory_records (id, owner_id, kind, content, metadata, created_at, updated_at)
                         VALUES (gen_random_uuid(), 'o', 'note', 'far future', '{}', now() + interval '2 years', now())`);
    // A failed CREATE INDEX CONCURRENTLY leaves an invalid index behind; mark one invalid the same way.
    await db.pool.query(`CREATE INDEX IF NOT EXISTS doctor_probe_idx ON memory_records_default (owner_id)`);
    await db.pool.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'doctor_probe_idx'::regclass`);
    const r = await runCli(['doctor', '--profile', 'test', '--json'], env());
    expect(r.code).toBe(1);
    const bad = r.json<{ findings: Finding[] }>().findings.filter((f) => !f.ok);
    // The table holds a record now and the database is not marked: that is a finding too.
    expect(bad.map((f) => f.check).sort()).toEqual(['database marker', 'default partition', 'index health']);
    expect(bad.find((f) => f.check === 'default partition')?.detail).toContain('holds 1 rows');
    expect(bad.find((f) => f.check === 'index health')?.fix).toContain('REINDEX INDEX CONCURRENTLY "doctor_probe_idx";');
  });

  it('migrate refuses a plan with gate findings, and the dev plan on a database marked production', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-migrate-'));
    try {
      for (const f of ['003_control_plane.sql', '004_control_plane_mirror.sql', '005_app_role.sql', '006_partition_function.sql', '007_instance_membership.sql', '008_app_role_runs.sql']) fs.copyFileSync(path.join(migrationsDir, f), path.join(dir, f));
      fs.copyFileSync(path.join(projectRoot, 'test/fixtures/gates/safe-no-banner/002_partitions.sql'), path.join(dir, '002_partitions.sql'));
      const gated = await runCli(['migrate', '--profile', 'test', '--dir', dir], env());
      expect(gated.code).toBe(1);
      expect(gated.stderr).toContain('[safe-banner]');
      expect(gated.stderr).toContain('refused, 1 gate finding(s)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    await db.pool.query(`INSERT INTO cutover_database_marker (environment) VALUES ('production') ON CONFLICT (singleton) DO UPDATE SET environment = 'production'`);
    const dev = await runCli(['migrate', '--plan', 'dev', '--profile', 'test'], env());
    expect(dev.code).toBe(1);
    expect(dev.stderr).toContain('002_partitions_dev.sql is a destructive development migration and is refused here: the database is marked production');
    const still = await db.pool.query(`SELECT count(*)::int AS n FROM memory_records`);
    expect(still.rows[0].n).toBe(1);
  });

  it('names the variable to set for an unknown profile (exit 2) and refuses a URL as a profile', async () => {
    const unknown = await runCli(['partitions', '--profile', 'nope'], env());
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('LICHEN_DB_PROFILE_NOPE');
    const url = await runCli(['doctor', '--profile', 'postgres://u:secret@h/db'], env());
    expect(url.code).toBe(2);
    expect(url.stderr).not.toContain('secret');
  });
});
