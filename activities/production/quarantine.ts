import { escapeIdentifier } from 'pg';
import type { ActivityDeps } from '../index';
import { TOMBSTONES_TABLE } from '../../src/memory-layer/storage/pg-store';
import { removeOlderVersions, type RemovedVersion } from '../../src/memory-layer/storage/older-versions';
import { AdminApiError, type InstanceRef } from '../lib/admin-client';
import { adminClient, type AppsSpec } from './instances';

/** How many quarantined records one answer of an instance lists (its admin API's limit); the activity pages on. */
const ASKED = 10_000;

export interface StaleQuarantinedRemoval {
  /** Rows removed from Postgres (and tombstoned): each an older version of a skipped record. */
  removed: (RemovedVersion & { instanceId: string; quarantinedUpdatedAt: string })[];
  /** Quarantined records looked at (over every instance). */
  quarantined: number;
  /** Instances that hold more quarantined records than one answer lists and cannot page on (older than paging: their rest was not looked at). */
  truncated: string[];
  /**
   * Quarantined ids Postgres had already tombstoned, with no row, before this call: removed by an
   * earlier attempt whose result was lost (a retry), or deleted elsewhere. Named so a retry does
   * not make a removal disappear from the record.
   */
  alreadyTombstoned: string[];
}

export function createQuarantineActivities(deps: ActivityDeps) {
  return {
    /**
     * After an operator's skip of quarantined records (gate `skip-quarantined`): a record held in
     * memory that Postgres cannot store may have an older, storable version in Postgres (an
     * earlier dual-write or back-fill). Verify keeps it (the id is quarantined, never a stray),
     * and after the switch it would be served while the run says the record was given up. So
     * every Postgres row of a quarantined id whose version is not newer than the one in memory
     * is removed and tombstoned (storage/older-versions.ts, under the writers' stripe locks); a
     * newer row is kept. Idempotent: a retry finds nothing left to remove.
     */
    async removeStaleOfQuarantined(input: { connectionProfile: string; table: string; apps: Pick<AppsSpec, 'adminTokenRef'>; instances: InstanceRef[] }): Promise<StaleQuarantinedRemoval> {
      const held = new Map<string, { instanceId: string; updatedAt: Date }>();
      const out: StaleQuarantinedRemoval = { removed: [], quarantined: 0, truncated: [], alreadyTombstoned: [] };
      for (const instance of input.instances) {
        // Every quarantined record of the instance, page by page (oldest first, `after` the last
        // one listed). An instance older than paging answers the second page with 400 (an unknown
        // parameter) or the first page again: the rest is then named in `truncated`.
        const client = adminClient(deps, input.apps, instance);
        const seen = new Set<string>();
        let after: string | undefined;
        for (;;) {
          let r: Awaited<ReturnType<typeof client.quarantine>>;
          try {
            r = await client.quarantine(ASKED, after);
          } catch (err) {
            if (after === undefined || !(err instanceof AdminApiError) || err.status !== 400) throw err;
            out.truncated.push(instance.instanceId);
            break;
          }
          let fresh = 0;
          for (const q of r.records) {
            if (seen.has(q.id)) continue;
            seen.add(q.id);
            fresh++;
            out.quarantined++;
            const at = new Date(q.updatedAt ?? q.createdAt);
            const prev = held.get(q.id);
            if (!prev || prev.updatedAt.getTime() < at.getTime()) held.set(q.id, { instanceId: instance.instanceId, updatedAt: at });
          }
          if (r.records.length < ASKED || seen.size >= r.total) break;
          if (fresh === 0) {
            out.truncated.push(instance.instanceId);
            break;
          }
          const last = r.records[r.records.length - 1];
          after = `${last.createdAt}|${last.id}`;
        }
      }
      const items = [...held].map(([id, h]) => ({ id, updatedAt: h.updatedAt }));
      const removed = await deps.profiles.withClient(input.connectionProfile, async (c) => {
        const t = escapeIdentifier(input.table);
        const gone = await c.query<{ id: string }>(
          `SELECT d.id::text FROM ${TOMBSTONES_TABLE} d WHERE d.id = ANY($1::uuid[]) AND NOT EXISTS (SELECT 1 FROM ${t} r WHERE r.id = d.id) ORDER BY 1`,
          [items.map((i) => i.id)],
        );
        out.alreadyTombstoned = gone.rows.map((r) => r.id);
        return removeOlderVersions(c, items, { table: input.table });
      });
      out.removed = removed.map((r) => ({ ...r, instanceId: held.get(r.id)!.instanceId, quarantinedUpdatedAt: held.get(r.id)!.updatedAt.toISOString() }));
      return out;
    },
  };
}
