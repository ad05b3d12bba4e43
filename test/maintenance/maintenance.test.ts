import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Client as PgClient } from 'pg';
import { WorkflowFailedError } from '@temporalio/client';
import type { MaintenanceSummary } from '../../workflows/maintenance';
import { upsertMaintenanceSchedule } from '../../src/maintenance/schedule';
import { useTestDatabase } from '../helpers/db';
import { setMode } from '../../src/memory-layer/control-plane';
import { useTemporal } from '../helpers/temporal';
import { rootMessage, startWorker, waitFor } from '../conversion/harness';

const db = useTestDatabase('partitioned');
const temporal = useTemporal();
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;
let n = 0;

beforeAll(async () => {
  taskQueue = temporal.taskQueue('maintenance');
  env = await startWorker(temporal, db.url, taskQueue);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

function run(input: Record<string, unknown>): Promise<MaintenanceSummary> {
  return temporal.client.workflow.execute('partitionMaintenance', { taskQueue, workflowId: `maint-${n++}-${taskQueue}`, args: [input] });
}

async function attached(): Promise<string[]> {
  const r = await db.pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'memory_records'::regclass ORDER BY 1`);
  return r.rows.map((x) => x.name);
}

async function exists(name: string): Promise<boolean> {
  return (await db.pool.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [name])).rows[0].ok;
}

describe('partitionMaintenance', () => {
  it('premakes the current and next months across a year boundary, with the clock from the input', async () => {
    const dec = await run({ now: '2026-12-15T10:00:00Z', premakeMonths: 2 });
    expect(dec.premade.months).toEqual(['2026-12-01', '2027-01-01', '2027-02-01']);
    expect(await attached()).toEqual(expect.arrayContaining(['memory_records_2026_12', 'memory_records_2027_01', 'memory_records_2027_02']));

    // The last second of January: still January; three months ahead crosses into April.
    const jan = await run({ now: '2027-01-31T23:59:59Z', premakeMonths: 3 });
    expect(jan.premade.months).toEqual(['2027-01-01', '2027-02-01', '2027-03-01', '2027-04-01']);
    expect(jan.premade.created).toEqual(['memory_records_2027_03', 'memory_records_2027_04']);
    expect(jan.premade.existing).toEqual(['memory_records_2027_01', 'memory_records_2027_02']);
    expect(jan.defaultPartition).toBeNull();
    expect(jan.retention).toBeNull();

    // Idempotent: a second run creates nothing.
    const again = await run({ now: '2027-01-31T23:59:59Z', premakeMonths: 3 });
    expect(again.premade.created).toEqual([]);
  });

  it('detaches (concurrently) only partitions wholly older than the retention window, and drops them only when enabled', async () => {
    for (const m of ['2026-01-01', '2026-02-01', '2026-03-01', '2026-04-01', '2026-05-01', '2026-06-01', '2026-07-01']) {
      await db.pool.query(`SELECT create_monthly_partition($1::date)`, [m]);
    }
    await db.pool.query(`INSERT INTO memory_records (id, owner_id, content, created_at) VALUES (gen_random_uuid(), 'o', 'old', '2026-03-10T00:00:00Z')`);

    // Six months before January 2027 starts 2026-07-01: June ends exactly there (wholly older); July does not.
    const r = await run({ now: '2027-01-15T00:00:00Z', premakeMonths: 0, retentionMonths: 6 });
    expect(r.retention!.cutoff).toBe('2026-07-01');
    expect(r.retention!.detached.map((d) => d.partition)).toEqual(
      ['memory_records_2026_01', 'memory_records_2026_02', 'memory_records_2026_03', 'memory_records_2026_04', 'memory_records_2026_05', 'memory_records_2026_06']);
    expect(new Set(r.retention!.detached.map((d) => d.mode))).toEqual(new Set(['concurrently']));
    expect(r.retention!.dropped).toEqual([]);
    const left = await attached();
    expect(left).toContain('memory_records_2026_07');
    expect(left.filter((p) => p < 'memory_records_2026_07')).toEqual([]);
    // Detached, not dropped: the data is still there.
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM memory_records_2026_03`)).rows[0].n).toBe(1);

    const d = await run({ now: '2027-01-15T00:00:00Z', premakeMonths: 0, retentionMonths: 6, dropDetached: true });
    expect(d.retention!.detached).toEqual([]);
    expect(d.retention!.dropped).toEqual(r.retention!.detached.map((x) => x.partition));
    expect(await exists('memory_records_2026_03')).toBe(false);
    expect(await exists('memory_records_2026_07')).toBe(true);
  });

  it('reports a default partition that holds rows, and falls back to a plain DETACH when one exists', async () => {
    await db.pool.query(`SELECT create_monthly_partition('2025-12-01'::date)`);
    await db.pool.query(`CREATE TABLE memory_records_default PARTITION OF memory_records DEFAULT`);
    onTestFinished(() => db.pool.query(`DROP TABLE IF EXISTS memory_records_default`).then(() => undefined));
    await db.pool.query(`INSERT INTO memory_records (id, owner_id, content, created_at) VALUES (gen_random_uuid(), 'o', 'far future', '2035-05-05T00:00:00Z')`);

    const r = await run({ now: '2027-01-15T00:00:00Z', premakeMonths: 1, retentionMonths: 12 });
    expect(r.defaultPartition).toEqual({ name: 'memory_records_default', rows: 1 });
    expect(r.retention!.detached).toEqual([{ partition: 'memory_records_2025_12', mode: 'plain' }]);
    expect(await exists('memory_records_2025_12')).toBe(true);
  });

  it('prunes tombstones on every run once the rule allows it (Postgres only, no run active), and keeps them before', async () => {
    const tomb = async (ageSeconds: number) => {
      const r = await db.pool.query<{ id: string }>(`INSERT INTO memory_record_tombstones (id, created_at, deleted_at) VALUES (gen_random_uuid(), now(), now() - make_interval(secs => $1)) RETURNING id::text`, [ageSeconds]);
      return r.rows[0].id;
    };
    const left = async (ids: string[]) => (await db.pool.query(`SELECT id FROM memory_record_tombstones WHERE id = ANY($1::uuid[])`, [ids])).rowCount;
    const old = await tomb(2 * 3600);
    const recent = await tomb(60);
    // Still in dual-write: a back-fill could bring a deleted record back, so nothing goes.
    await setMode(db.pool, { target: 'memory_records', mode: { persistence: 'dual-write', primary: 'postgres', failFast: false, dualWriteEnabled: true }, actor: 'test', reason: 'monitoring' });
    const kept = await run({ now: '2027-01-15T00:00:00Z', premakeMonths: 0 });
    expect(kept.phases.map((p) => p.phase)).toContain('prune tombstones');
    expect(kept.tombstones).toMatchObject({ pruned: 0, reason: expect.stringMatching(/^kept/) });
    expect(await left([old, recent])).toBe(2);
    // After the final cutover: tombstones older than the grace period go, the recent one stays.
    await setMode(db.pool, { target: 'memory_records', mode: { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false }, actor: 'test', reason: 'final cutover' });
    const pruned = await run({ now: '2027-01-15T00:00:00Z', premakeMonths: 0 });
    expect(pruned.tombstones?.pruned).toBeGreaterThanOrEqual(1);
    expect(await left([old])).toBe(0);
    expect(await left([recent])).toBe(1);
  });

  it('gives a partition it makes the table\'s owner and grants (not the helper\'s owner): the owner can still ALTER and ANALYZE it', async () => {
    const owner = `records_owner_${process.pid}`;
    const reader = `records_reader_${process.pid}`;
    const before = (await db.pool.query(`SELECT pg_get_userbyid(relowner) AS o FROM pg_class WHERE oid = 'memory_records'::regclass`)).rows[0].o;
    await db.pool.query(`DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${owner}') THEN CREATE ROLE ${owner} NOLOGIN; END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${reader}') THEN CREATE ROLE ${reader} NOLOGIN; END IF;
      END $$;
      ALTER TABLE memory_records OWNER TO ${owner}; GRANT SELECT ON memory_records TO ${reader}; GRANT UPDATE (content) ON memory_records TO ${reader};`);
    onTestFinished(async () => {
      await db.pool.query(`REVOKE ALL ON memory_records FROM ${reader}; ALTER TABLE memory_records OWNER TO ${before}`);
    });
    const r = await run({ now: '2033-06-15T00:00:00Z', premakeMonths: 1 });
    expect(r.premade.created).toEqual(['memory_records_2033_06', 'memory_records_2033_07']);
    const parts = await db.pool.query(
      `SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner, has_table_privilege($2, c.oid, 'SELECT') AS sel,
              has_column_privilege($2, c.oid, 'content', 'UPDATE') AS upd, has_table_privilege($2, c.oid, 'DELETE') AS del
         FROM pg_class c WHERE c.relname = ANY($1) ORDER BY 1`, [r.premade.created, reader]);
    expect(parts.rows).toEqual(r.premade.created.map((name) => ({ name, owner, sel: true, upd: true, del: false })));
  });

  it('rejects invalid input naming the field', async () => {
    for (const [input, field] of [[{ dropDetached: true }, 'dropDetached'], [{ now: 'yesterday' }, 'now'], [{ retentionMonths: 0 }, 'retentionMonths'], [{ target: 'x; drop' }, 'target']] as const) {
      const err = await run(input).catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(rootMessage(err)).toContain(`invalid input: ${field}`);
    }
  });

  it('never runs two at once: the schedule skips a firing while the previous run is still running', async () => {
    // A long transaction locks the table, so a run that must create partitions waits.
    const holder = new PgClient({ connectionString: db.url });
    holder.on('error', () => undefined);
    await holder.connect();
    let held = true;
    const release = async () => {
      if (!held) return;
      held = false;
      await holder.query('COMMIT');
      await holder.end();
    };
    onTestFinished(release);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE memory_records IN ACCESS EXCLUSIVE MODE');

    const scheduleId = `maint-sched-${taskQueue}`;
    const outcome = await upsertMaintenanceSchedule(temporal.client, {
      scheduleId, interval: '2 seconds', taskQueue, input: { now: '2031-05-10T00:00:00Z', premakeMonths: 1, lockTimeoutMs: 200 },
    });
    expect(outcome).toBe('created');
    const handle = temporal.client.schedule.getHandle(scheduleId);
    onTestFinished(() => handle.delete().catch(() => undefined));
    expect((await handle.describe()).policies.overlap).toBe('SKIP');

    const blocked = await waitFor('one running and a skipped firing', async () => {
      const d = await handle.describe();
      expect(d.info.runningActions.length).toBeLessThanOrEqual(1);
      return d.info.runningActions.length === 1 && d.info.numActionsSkippedOverlap >= 1 ? d : undefined;
    }, 20_000);
    const runId = blocked.info.runningActions[0].workflow.workflowId;
    await release();
    await handle.pause('test done');
    const summary = (await temporal.client.workflow.getHandle(runId).result()) as MaintenanceSummary;
    expect(summary.premade.created).toEqual(['memory_records_2031_05', 'memory_records_2031_06']);
    const d = await handle.describe();
    expect(d.info.numActionsSkippedOverlap).toBeGreaterThanOrEqual(1);

    // Updating the schedule keeps one schedule (and its SKIP policy).
    expect(await upsertMaintenanceSchedule(temporal.client, { scheduleId, cron: '0 3 1 * *', taskQueue, input: { premakeMonths: 2 } })).toBe('updated');
    const updated = await handle.describe();
    expect(updated.spec.calendars?.length).toBe(1); // the cron replaced the interval
    expect(updated.spec.intervals ?? []).toEqual([]);
    expect(updated.policies.overlap).toBe('SKIP');
  });
});
