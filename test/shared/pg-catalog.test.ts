import { describe, expect, it } from 'vitest';
import { countRows, finishRun, listPartitions, liveInstances, registerRun, relkind } from '../../src/shared/pg-catalog';
import { isMissingPartition, sqlState, SQLSTATE } from '../../src/shared/pg-errors';
import { useTestDatabase } from '../helpers/db';

const db = useTestDatabase('partitioned');

describe('catalog lookups', () => {
  it('tells a partitioned table, a partition, a view and an absent name apart', async () => {
    await db.pool.query('CREATE VIEW catalog_test_view AS SELECT 1 AS x');
    expect(await relkind(db.pool, 'memory_records')).toBe('p');
    const [first] = await listPartitions(db.pool, 'memory_records');
    expect(await relkind(db.pool, first.name)).toBe('r');
    expect(await relkind(db.pool, 'catalog_test_view')).toBe('v');
    expect(await relkind(db.pool, 'no_such_table')).toBeNull();
    expect(await relkind(db.pool, 'x"; DROP TABLE memory_records; --')).toBeNull();
    expect(await relkind(db.pool, 'memory_records')).toBe('p');
  });

  it('lists partitions with their bounds and counts a partition exactly', async () => {
    const parts = await listPartitions(db.pool, 'memory_records');
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const p of parts) {
      expect(p.name).toMatch(/^memory_records_\d{4}_\d{2}$/);
      expect(p.isDefault).toBe(false);
      expect(p.from).toMatch(/^\d{4}-\d{2}-01/);
      expect(p.bounds).toContain(`FROM ('${p.from}')`);
      expect(p.detachPending).toBe(false);
    }
    expect(await listPartitions(db.pool, 'no_such_table')).toEqual([]);
    expect(await listPartitions(db.pool, 'x"; DROP TABLE memory_records; --')).toEqual([]); // 14 and 15 raise invalid_name, 16+ return NULL
    expect(await countRows(db.pool, parts[0].name)).toBe(0);
  });

  it('allows one active run per target, and ending a run is one-way: the first end recorded stays', async () => {
    const a = { runId: 'wf-a/1', workflowId: 'wf-a', target: 'catalog_t', kind: 'conversion' };
    expect(await registerRun(db.pool, a)).toBeNull();
    expect(await registerRun(db.pool, a)).toBeNull(); // a retry finds its own row
    const other = await registerRun(db.pool, { ...a, runId: 'wf-b/1', workflowId: 'wf-b' });
    expect(other).toMatchObject({ workflowId: 'wf-a', kind: 'conversion' });
    await finishRun(db.pool, a.runId, 'completed');
    await finishRun(db.pool, a.runId, 'failed');
    const row = (await db.pool.query(`SELECT status FROM cutover_runs WHERE run_id = $1`, [a.runId])).rows[0];
    expect(row.status).toBe('completed');
    expect(await registerRun(db.pool, { ...a, runId: 'wf-b/1', workflowId: 'wf-b' })).toBeNull();
  });

  it('counts an instance live only while its heartbeat is younger than the TTL and it has not stopped', async () => {
    await db.pool.query(
      `INSERT INTO cutover_instances (instance_id, target, applied_epoch, last_heartbeat, stopped_at) VALUES
         ('fresh', 'catalog_t', 0, now(), NULL), ('silent', 'catalog_t', 0, now() - interval '30 seconds', NULL), ('stopped', 'catalog_t', 0, now(), now())`,
    );
    expect((await liveInstances(db.pool, 'catalog_t')).map((i) => i.instanceId)).toEqual(['fresh']);
    expect((await liveInstances(db.pool, 'catalog_t', { heartbeatTtlMs: 60_000 })).map((i) => i.instanceId).sort()).toEqual(['fresh', 'silent']);
  });
});

describe('SQLSTATE mapping', () => {
  it('names the code of a real Postgres error and recognises a row with no partition', async () => {
    const dup = await db.pool.query(`CREATE TABLE memory_records (x int)`).catch((e: unknown) => e);
    expect(sqlState(dup)).toBe(SQLSTATE.duplicateTable);
    const noPart = await db.pool
      .query(`INSERT INTO memory_records (id, owner_id, kind, content, created_at, updated_at) VALUES (gen_random_uuid(), 'o', 'k', 'c', '1990-01-01', now())`)
      .catch((e: unknown) => e);
    expect(isMissingPartition(noPart)).toBe(true);
    expect(sqlState(new Error('no code'))).toBeUndefined();
    expect(sqlState(null)).toBeUndefined();
  });
});
