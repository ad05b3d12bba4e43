import type { Pool } from 'pg';
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../index';
import { AdminClient, type InstanceRef, type InstanceStats } from '../lib/admin-client';
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

/** How long a probe waits for the admin API of a member that is not live (frozen, gone). */
const SILENT_MEMBER_TIMEOUT_MS = 3_000;

export interface FleetProbe {
  /** Members that answered, with their stats. */
  instances: (InstanceRef & { stats: InstanceStats })[];
  /** Members (registered, not cleanly stopped, not forgotten) that are silent and did not answer. */
  unreachable: (FleetMember & { error: string })[];
}

/**
 * Asks every fleet member for its stats: a live one that does not answer fails the call (the
 * activity retries); a silent one is given SILENT_MEMBER_TIMEOUT_MS, then reported unreachable.
 * Heartbeats per member when run inside an activity.
 */
export async function probeFleet(deps: ActivityDeps, pool: Pool, target: string, apps: AppsSpec): Promise<FleetProbe> {
  const fleet = await resolveFleet(pool, target, apps);
  const out: FleetProbe = { instances: [], unreachable: [] };
  for (const m of fleet) {
    heartbeatIfActivity({ instance: m.instanceId });
    if (!m.adminUrl) {
      if (m.live) throw preflightFailed(`live instance without an admin URL: ${m.instanceId}; start it with an admin URL or use apps.discovery "static"`);
      out.unreachable.push({ ...m, error: 'no admin URL registered' });
      continue;
    }
    const ref = { instanceId: m.instanceId, adminUrl: m.adminUrl };
    try {
      const stats = await adminClient(deps, apps, ref, m.live ? undefined : SILENT_MEMBER_TIMEOUT_MS).stats();
      // A silent member's port may now belong to another instance: that is not this one.
      if (apps.discovery !== 'static' && stats.instanceId !== m.instanceId) throw new Error(`its admin URL ${m.adminUrl} answers as ${stats.instanceId}`);
      out.instances.push({ ...ref, stats });
    } catch (err) {
      if (m.live) throw err; // a live instance that does not answer: retry
      out.unreachable.push({ ...m, error: (err as Error).message });
    }
  }
  return out;
}

function heartbeatIfActivity(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not inside an activity
  }
}
