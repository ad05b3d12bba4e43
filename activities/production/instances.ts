import type { Pool } from 'pg';
import type { ActivityDeps } from '../index';
import { AdminClient, type InstanceRef } from '../lib/admin-client';
import { preflightFailed } from '../lib/errors';
import { listFleet, type FleetMember } from '../../src/memory-layer/fleet';

/** How the workflow tells activities which app instances to talk to. */
export interface AppsSpec {
  discovery: 'control-plane' | 'static';
  endpoints: InstanceRef[];
  adminTokenRef: string;
}

/** "Live" = heartbeat within this many seconds (the control plane's documented TTL). */
export const LIVE_TTL_SECONDS = 10;

/** The app instances of a target: static endpoints, or the live ones in cutover_instances. */
export async function resolveInstances(pool: Pool, target: string, apps: AppsSpec): Promise<InstanceRef[]> {
  if (apps.discovery === 'static') return apps.endpoints;
  const r = await pool.query<{ instance_id: string; admin_url: string | null }>(
    `SELECT instance_id, admin_url FROM cutover_instances
      WHERE target = $1 AND stopped_at IS NULL AND last_heartbeat > now() - make_interval(secs => $2)
      ORDER BY instance_id`,
    [target, LIVE_TTL_SECONDS],
  );
  const missing = r.rows.filter((x) => !x.admin_url).map((x) => x.instance_id);
  if (missing.length) throw preflightFailed(`live instances without an admin URL: ${missing.join(', ')}; start them with an admin URL or use apps.discovery "static"`);
  return r.rows.map((x) => ({ instanceId: x.instance_id, adminUrl: x.admin_url! }));
}

/**
 * The fleet of a target (src/memory-layer/fleet.ts): every registered instance not cleanly
 * stopped and not forgotten, live or silent. Static endpoints are all members (live unknown:
 * reported live).
 */
export async function resolveFleet(pool: Pool, target: string, apps: AppsSpec): Promise<FleetMember[]> {
  if (apps.discovery === 'static') {
    return apps.endpoints.map((e) => ({ instanceId: e.instanceId, adminUrl: e.adminUrl, appliedEpoch: 0, lastHeartbeat: '', startedAt: '', live: true }));
  }
  return listFleet(pool, target, { heartbeatTtlMs: LIVE_TTL_SECONDS * 1000 });
}

export function adminClient(deps: ActivityDeps, apps: Pick<AppsSpec, 'adminTokenRef'>, instance: InstanceRef, timeoutMs?: number): AdminClient {
  return new AdminClient(instance, deps.secrets.adminToken(apps.adminTokenRef), timeoutMs);
}
