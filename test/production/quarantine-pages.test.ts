import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuarantineActivities } from '../../activities/production/quarantine';
import type { ActivityDeps } from '../../activities';
import { createProfileResolver } from '../../src/config/profiles';
import { createSecretResolver } from '../../src/config/secrets';
import type { MemoryRecord } from '../../src/memory-layer/record';
import { useTestDatabase } from '../helpers/db';
import { startApps, type RunningApps } from '../helpers/app';

const db = useTestDatabase('partitioned');
let apps: RunningApps;
beforeAll(async () => {
  apps = await startApps(1, { dbUrl: db.url, adminToken: 'tok_quarantine_pages' });
});
afterAll(async () => {
  await apps?.stopAll();
});

/**
 * Issue 24 item 5, beyond one answer of the admin API: an instance holding more quarantined
 * records than GET /admin/quarantine lists at once (10000). Every one of them that has an older,
 * storable version in Postgres must lose it at the skip — none may be left to be served after the
 * final cutover while the run says the record was given up (before: those past the first answer
 * were "not looked at", a note only).
 */
describe('removeStaleOfQuarantined over more quarantined records than one admin answer lists', () => {
  it('removes and tombstones the older Postgres version of every quarantined record of the instance (10001), none left behind', async () => {
    const [a] = apps.instances;
    const n = 10_001;
    const at = new Date(Date.now() - 86_400_000);
    const older = new Date(at.getTime() - 3_600_000);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      // Created one millisecond apart: the admin API lists them oldest first.
      const created = new Date(at.getTime() + i);
      const r: MemoryRecord = { id: crypto.randomUUID(), ownerId: 'legacy', agentId: null, kind: 'note', content: `nul\u0000${i}`, metadata: {}, createdAt: created, updatedAt: new Date(at.getTime() + n + i) };
      expect(a.service.memory.putSync(r)).toBe('written');
      ids.push(r.id);
    }
    // An earlier dual-write stored an older, storable version of each.
    await db.pool.query(
      `INSERT INTO memory_records (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at)
       SELECT id, 'legacy', NULL, 'note', 'storable', '{}'::jsonb, $2::timestamptz + (ord - 1) * interval '1 millisecond', $3
       FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, ord)`,
      [ids, at, older],
    );
    // Rows of other ids, as old: not quarantined, never touched.
    const others = Array.from({ length: 50 }, () => crypto.randomUUID());
    await db.pool.query(
      `INSERT INTO memory_records (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at)
       SELECT id, 'other', NULL, 'note', 'kept', '{}'::jsonb, $2, $3 FROM unnest($1::uuid[]) AS u(id)`,
      [others, at, older],
    );
    const deps = { profiles: createProfileResolver({ default: db.url }), secrets: createSecretResolver({ default: 'tok_quarantine_pages' }) } as unknown as ActivityDeps;
    try {
      const out = await createQuarantineActivities(deps).removeStaleOfQuarantined({
        connectionProfile: 'default', table: 'memory_records', apps: { adminTokenRef: 'default' },
        instances: [{ instanceId: a.instanceId, adminUrl: a.url }],
      });
      expect(out.quarantined).toBe(n);
      expect(out.truncated).toEqual([]);
      expect(out.removed.length).toBe(n);
    } finally {
      await deps.profiles.close();
    }
    const left = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM memory_records WHERE id = ANY($1::uuid[])', [ids]);
    expect(left.rows[0].n, 'older Postgres versions left behind').toBe(0);
    const tombstoned = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM memory_record_tombstones WHERE id = ANY($1::uuid[])', [ids]);
    expect(tombstoned.rows[0].n, 'each removal tombstoned').toBe(n);
    const kept = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM memory_records WHERE id = ANY($1::uuid[])', [others]);
    expect(kept.rows[0].n, 'rows of ids not quarantined are kept').toBe(others.length);
  }, 300_000);
});
