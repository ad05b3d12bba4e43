import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { setMode } from '../../src/memory-layer/control-plane';
import { pruneTombstones } from '../../src/memory-layer/storage/tombstones';
import { MemoryStore } from '../../src/memory-layer/storage/memory-store';
import { DualStore } from '../../src/memory-layer/storage/dual-store';
import { PgStore } from '../../src/memory-layer/storage/pg-store';
import { ServiceMetrics } from '../../src/memory-layer/metrics';
import type { PersistenceMode } from '../../workflows/types';
import { useTestDatabase } from '../helpers/db';

const db = useTestDatabase('partitioned');
const MEMORY: PersistenceMode = { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: true };
const POSTGRES: PersistenceMode = { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false };

async function tombstones(ages: number[]): Promise<string[]> {
  const ids = ages.map(() => crypto.randomUUID());
  await db.pool.query(
    `INSERT INTO memory_record_tombstones (id, created_at, deleted_at) SELECT i, now(), now() - make_interval(secs => a) FROM unnest($1::uuid[], $2::int[]) u(i, a)`,
    [ids, ages],
  );
  return ids;
}
const left = async (ids: string[]) => (await db.pool.query(`SELECT id FROM memory_record_tombstones WHERE id = ANY($1::uuid[])`, [ids])).rowCount;

describe('tombstone pruning', () => {
  it('keeps every tombstone while memory may still be copied, or a run is active', async () => {
    const ids = await tombstones([7200, 7200]);
    await setMode(db.pool, { target: 'memory_records', mode: { ...MEMORY, persistence: 'dual-write' }, actor: 't', reason: 'backfill phase' });
    expect(await pruneTombstones(db.pool, 'memory_records')).toMatchObject({ pruned: 0 });
    await setMode(db.pool, { target: 'memory_records', mode: POSTGRES, actor: 't', reason: 'final' });
    await db.pool.query(`INSERT INTO cutover_runs (run_id, workflow_id, target, kind) VALUES ('r1', 'w1', 'memory_records', 'production')`);
    expect(await pruneTombstones(db.pool, 'memory_records')).toMatchObject({ pruned: 0 });
    expect(await left(ids)).toBe(2);
    await db.pool.query(`UPDATE cutover_runs SET status = 'completed', ended_at = now() WHERE run_id = 'r1'`);
  });

  it('after the final cutover with no run active, prunes tombstones older than the grace, keeps recent ones', async () => {
    await setMode(db.pool, { target: 'memory_records', mode: POSTGRES, actor: 't', reason: 'final' });
    const old = await tombstones([7200, 3700]);
    const recent = await tombstones([5, 600]);
    const r = await pruneTombstones(db.pool, 'memory_records');
    expect(r.pruned).toBeGreaterThanOrEqual(2);
    expect(await left(old)).toBe(0);
    expect(await left(recent)).toBe(2);
  });

  it("an instance forgets its deleted ids when it applies persistence postgres, not before", async () => {
    const memory = new MemoryStore();
    const dual = new DualStore({ memory, postgres: new PgStore(db.pool), metrics: new ServiceMetrics(), mode: MEMORY });
    const r = await dual.create({ id: crypto.randomUUID(), ownerId: 'o', agentId: null, kind: 'note', content: 'c', metadata: {} });
    await dual.remove(r.id);
    await dual.applyMode({ ...MEMORY, persistence: 'dual-write' }, 2);
    expect(memory.deletedCount).toBe(1);
    await dual.applyMode(POSTGRES, 3);
    expect(memory.deletedCount).toBe(0);
  });
});
