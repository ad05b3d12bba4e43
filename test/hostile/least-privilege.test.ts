import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { setModeAndWait } from '../../src/memory-layer/control-plane';
import { upsertRecords } from '../../src/memory-layer/storage/pg-store';
import { createProfileResolver } from '../../src/config/profiles';
import { createMaintenanceActivities } from '../../activities/maintenance';
import type { MemoryRecord } from '../../src/memory-layer/record';
import { startApps, type RunningApps } from '../helpers/app';
import { appRoleUrl } from '../helpers/app-role';
import { useTestDatabase } from '../helpers/db';
import { call } from '../memory-layer/http';

const db = useTestDatabase('partitioned');
let apps: RunningApps;
const POSTGRES = { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false } as const;
const withTz = (url: string, tz: string) => {
  const u = new URL(url);
  u.searchParams.set('options', `-c TimeZone=${tz}`);
  return u.toString();
};
/** The first instant (UTC) of the month `n` months from now. */
const monthStart = (n: number) => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
};
const monthName = (d: Date) => `memory_records_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;

async function connect(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}

beforeAll(async () => {
  // The apps run 14 hours ahead of UTC: a date literal read in their zone is the wrong day.
  apps = await startApps(1, { dbUrl: withTz(db.url, 'Pacific/Kiritimati'), bootMode: POSTGRES, heartbeatMs: 500 });
  await setModeAndWait(db.pool, { target: 'memory_records', mode: POSTGRES, actor: 'test', reason: 'least privilege', timeoutMs: 10_000 });
});
afterAll(async () => {
  await apps?.stopAll();
});

describe('the app role', () => {
  it('is no superuser, cannot create or drop tables, nor read the ledger or the run registry', async () => {
    const c = await connect(await appRoleUrl(db.url));
    try {
      const me = await c.query(`SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user`);
      expect(me.rows[0]).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false });
      for (const sql of [
        'CREATE TABLE sneaky (x int)',
        `CREATE TABLE memory_records_2099_01 PARTITION OF memory_records FOR VALUES FROM ('2099-01-01') TO ('2099-02-01')`,
        'DROP TABLE memory_records',
        'TRUNCATE memory_records',
        'SELECT * FROM schema_migrations',
        'SELECT * FROM cutover_runs',
        `UPDATE cutover_control SET epoch = epoch + 1`,
        'DELETE FROM memory_record_tombstones',
      ]) {
        const err = await c.query(sql).then(() => null, (e: { code?: string }) => e);
        expect({ sql, code: err?.code }).toMatchObject({ sql, code: expect.stringMatching(/^42501$|^42P01$/) });
      }
      // The one question it may ask of the run registry (008): is a run active for a target?
      expect((await c.query(`SELECT cutover_run_active('memory_records') AS a`)).rows[0]).toEqual({ a: false });
    } finally {
      await c.end();
    }
  });

  it('writes a record for a month with no partition yet, through the SECURITY DEFINER helper', async () => {
    const at = monthStart(4);
    expect((await db.pool.query(`SELECT to_regclass($1) AS r`, [monthName(at)])).rows[0].r).toBeNull();
    const [a] = apps.instances;
    const r = await call(a.url, 'POST', '/records', { ownerId: 'lp', content: 'new month', createdAt: at.toISOString() });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const part = await db.pool.query(
      `SELECT c.relname AS part, pg_get_userbyid(c.relowner) AS owner FROM pg_class c WHERE c.oid = (SELECT tableoid FROM memory_records WHERE id = $1)`,
      [r.body.id],
    );
    // In the UTC month (in +14:00 it is already the 1st at 10:00), owned by the owner, not the app.
    expect(part.rows[0].part).toBe(monthName(at));
    expect(part.rows[0].owner).not.toMatch(/_app$/);
    const fn = await db.pool.query(`SELECT prosecdef, proconfig FROM pg_proc WHERE proname = 'create_monthly_partition'`);
    expect(fn.rows).toEqual([{ prosecdef: true, proconfig: ['search_path=pg_catalog, public'] }]);
  });

  it('cannot make the helper create a month outside 2000-01 .. 13 months ahead', async () => {
    const c = await connect(await appRoleUrl(db.url));
    try {
      for (const m of ['1999-12-01', '9999-01-01', monthStart(15).toISOString().slice(0, 10)]) {
        const err = await c.query(`SELECT create_monthly_partition($1::date)`, [m]).then(() => null, (e: { code?: string; message: string }) => e);
        expect(err).toMatchObject({ code: '22023', message: expect.stringContaining('outside 2000-01') });
      }
    } finally {
      await c.end();
    }
  });
});

describe('detached months', () => {
  it('refuses a write to a detached month with an error naming the table, never a silent no-op', async () => {
    const at = monthStart(5);
    await db.pool.query(`SELECT create_monthly_partition($1::date)`, [at.toISOString().slice(0, 10)]);
    await db.pool.query(`ALTER TABLE memory_records DETACH PARTITION ${monthName(at)}`);
    const err = await db.pool.query(`SELECT create_monthly_partition($1::date)`, [at.toISOString().slice(0, 10)]).then(() => null, (e: { code?: string; message: string }) => e);
    expect(err).toMatchObject({ code: '55000', message: expect.stringContaining(`${monthName(at)} exists but is not a partition of memory_records`) });
    const [a] = apps.instances;
    const r = await call(a.url, 'POST', '/records', { ownerId: 'lp', content: 'into a detached month', createdAt: new Date(at.getTime() + 3_600_000).toISOString() });
    expect(r.status).toBe(503);
    expect(r.body.error).toContain(`${monthName(at)} exists but is not a partition`);
  });
});

describe('time zones', () => {
  it('app, worker and maintenance in three different TimeZones make contiguous UTC months', async () => {
    // The app (+14:00) writes the first instant of a new month; the worker (-09:00) back-fills the
    // last instant of the month before and the first of the next; maintenance (+05:30) premakes one more.
    const [a] = apps.instances;
    const m6 = monthStart(6);
    const m7 = monthStart(7);
    const m8 = monthStart(8);
    const app = await call(a.url, 'POST', '/records', { ownerId: 'tz', content: 'app', createdAt: m7.toISOString() });
    expect(app.status, JSON.stringify(app.body)).toBe(201);
    const worker = createProfileResolver({ default: withTz(db.url, 'America/Anchorage') });
    const maintenance = createProfileResolver({ default: withTz(db.url, 'Asia/Kolkata') });
    try {
      const rec = (createdAt: Date): MemoryRecord => ({ id: crypto.randomUUID(), ownerId: 'tz', agentId: null, kind: 'note', content: 'worker', metadata: {}, createdAt, updatedAt: new Date() });
      const batch = [rec(new Date(m7.getTime() - 1)), rec(new Date(m8.getTime() - 1))];
      const r = await worker.withClient('default', (c) => upsertRecords(c, batch));
      expect(r.written).toBe(2);
      await createMaintenanceActivities({ profiles: maintenance }).premakePartitions({
        profile: 'default', target: 'memory_records', months: [m8.toISOString().slice(0, 10)], lockTimeoutMs: 2_000,
      });
      // A raw session 14 hours ahead calling the helper directly gets the same bounds too.
      const raw = await connect(withTz(db.url, 'Pacific/Kiritimati'));
      await raw.query(`SELECT create_monthly_partition($1::date)`, [m8.toISOString().slice(0, 10)]).finally(() => raw.end());

      const parts = await db.withClient(async (c) => {
        await c.query(`SET TIME ZONE 'UTC'`);
        const q = await c.query<{ name: string; bounds: string }>(
          `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bounds FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'memory_records'::regclass ORDER BY 2`);
        return q.rows;
      });
      const iso = (d: Date) => `${d.toISOString().slice(0, 10)} 00:00:00+00`;
      for (const [lo, hi] of [[m6, m7], [m7, m8]]) {
        expect(parts).toContainEqual({ name: monthName(lo), bounds: `FOR VALUES FROM ('${iso(lo)}') TO ('${iso(hi)}')` });
      }
      // Every partition starts on the 1st at 00:00 UTC and they never overlap.
      const ranges = parts.map((p) => /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(p.bounds)!.slice(1).map((x) => Date.parse(x.replace(' ', 'T').replace('+00', 'Z'))));
      for (const [lo] of ranges) expect(new Date(lo).toISOString()).toMatch(/-01T00:00:00\.000Z$/);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThanOrEqual(ranges[i - 1][1]);
      const placed = await db.pool.query<{ part: string; created_at: Date }>(`SELECT tableoid::regclass::text AS part, created_at FROM memory_records WHERE owner_id = 'tz'`);
      for (const row of placed.rows) expect(row.part).toBe(monthName(row.created_at));
      expect(placed.rowCount).toBe(3);
    } finally {
      await worker.close();
      await maintenance.close();
    }
  });

  it('tolerates an overlapping partition made by the old helper when it covers the month, and names it when not', async () => {
    const m9 = monthStart(9);
    const m10 = monthStart(10);
    const m11 = monthStart(11);
    const d = (x: Date) => x.toISOString().slice(0, 10);
    // A legacy partition spanning two whole UTC months, under another name.
    await db.pool.query(`CREATE TABLE legacy_part PARTITION OF memory_records FOR VALUES FROM ('${d(m9)} 00:00:00+00') TO ('${d(m11)} 00:00:00+00')`);
    const got = await db.pool.query(`SELECT create_monthly_partition($1::date) AS p`, [d(m10)]);
    expect(got.rows[0].p).toBe('legacy_part');
    // One the old helper made in a +14:00 session misses the month's last 14 hours (UTC).
    await db.pool.query(`CREATE TABLE legacy_shifted PARTITION OF memory_records FOR VALUES FROM ('${d(monthStart(12))} 00:00:00+14') TO ('${d(monthStart(13))} 00:00:00+14')`);
    const err = await db.pool.query(`SELECT create_monthly_partition($1::date)`, [d(monthStart(12))]).then(() => null, (e: { code?: string; message: string }) => e);
    expect(err).toMatchObject({ code: '42P17', message: expect.stringContaining('overlaps a partition with other bounds') });
  });
});
