import type { Pool } from 'pg';
import type { ActivityDeps } from '../index';
import { AdminClient, type InstanceRef } from '../lib/admin-client';
import { preflightFailed } from '../lib/errors';
import { HEARTBEAT_TTL_MS, liveInstances } from '../../src/shared/pg-catalog';
import { checkStaticEndpoint, EndpointRefusedError } from '../../src/config/endpoint-policy';
import { listFleet, type FleetMember } from '../../src/memory-layer/fleet';

/** How the workflow tells activities which app instances to talk to. */
export interface AppsSpec {
  discovery: 'control-plane' | 'static';
  endpoints: InstanceRef[];
  adminTokenRef: string;
}

/**
 * The app instances of a target: static endpoints (each checked against the worker's allow-list,
 * before any request: endpoint-policy.ts), or the live ones in cutover_instances (by instance id).
 */
export async function resolveInstances(pool: Pool, target: string, apps: AppsSpec): Promise<InstanceRef[]> {
  if (apps.discovery === 'static') {
    for (const e of apps.endpoints) allowStatic(e);
    return apps.endpoints;
  }
  const live = (await liveInstances(pool, target)).sort((x, y) => (x.instanceId < y.instanceId ? -1 : x.instanceId > y.instanceId ? 1 : 0));
  const missing = live.filter((i) => !i.adminUrl).map((i) => i.instanceId);
  if (missing.length) throw preflightFailed(`live instances without an admin URL: ${missing.join(', ')}; start them with an admin URL or use apps.discovery "static"`);
  return live.map((i) => ({ instanceId: i.instanceId, adminUrl: i.adminUrl! }));
}

/**
 * The fleet of a target (src/memory-layer/fleet.ts): every registered instance not cleanly
 * stopped and not forgotten, live or silent. Static endpoints are all members (each checked
 * against the allow-list; live unknown: reported live).
 */
export async function resolveFleet(pool: Pool, target: string, apps: AppsSpec): Promise<FleetMember[]> {
  if (apps.discovery === 'static') {
    for (const e of apps.endpoints) allowStatic(e);
    return apps.endpoints.map((e) => ({ instanceId: e.instanceId, adminUrl: e.adminUrl, appliedEpoch: 0, lastHeartbeat: '', startedAt: '', live: true }));
  }
  return listFleet(pool, target, { heartbeatTtlMs: HEARTBEAT_TTL_MS });
}

/** The admin client of one instance; a static endpoint is checked again before the token goes anywhere. */
export function adminClient(
  deps: ActivityDeps,
  apps: Pick<AppsSpec, 'adminTokenRef'> & Partial<Pick<AppsSpec, 'discovery'>>,
  instance: InstanceRef,
  timeoutMs?: number,
): AdminClient {
  if (apps.discovery === 'static') allowStatic(instance);
  return new AdminClient(instance, deps.secrets.adminToken(apps.adminTokenRef), timeoutMs);
}

function allowStatic(e: InstanceRef): void {
  try {
    checkStaticEndpoint(e.instanceId, e.adminUrl);
  } catch (err) {
    if (err instanceof EndpointRefusedError) throw preflightFailed(err.message);
    throw err;
  }
}
