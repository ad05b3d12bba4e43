import type { ActivityDeps } from '../index';
import { InvalidModeError } from '../../src/memory-layer/control-plane';
import { ForgetRefusedError, forgetInstance, listFleet, type FleetMember, type ForgetResult } from '../../src/memory-layer/fleet';
import { nonRetryable } from '../lib/errors';
import { HEARTBEAT_TTL_MS } from '../../src/shared/pg-catalog';
import type { InstanceRef } from '../lib/admin-client';
import { adminClient, probeFleet, type AppsSpec } from './instances';

export interface FleetStatus {
  members: FleetMember[];
  /** Members that have not applied `epoch`, each with its last heartbeat and applied epoch. */
  lagging: FleetMember[];
}

/** One fleet member as a run's history names it. */
export interface MemberNote {
  instanceId: string;
  lastHeartbeat: string;
  appliedEpoch: number;
  live: boolean;
  /** Why it did not answer (silent members). */
  error?: string;
}

export interface FleetCheck {
  /** Every fleet member's id. */
  members: string[];
  /** Members whose admin API answered: the instances back-fill and verify read. */
  reachable: InstanceRef[];
  /** Members that did not answer (frozen, cut off, crashed, not yet forgotten). */
  silent: MemberNote[];
  /** Members that have not applied `epoch` (control-plane discovery; a static list has no epochs). */
  lagging: MemberNote[];
}

const note = (m: FleetMember, error?: string): MemberNote => ({ instanceId: m.instanceId, lastHeartbeat: m.lastHeartbeat, appliedEpoch: m.appliedEpoch, live: m.live, ...(error ? { error: error.slice(0, 200) } : {}) });

/** How many quarantined records a report names (the total is always counted). */
const QUARANTINE_LISTED = 200;

export interface QuarantineReport {
  total: number;
  /** At most QUARANTINE_LISTED, each with the instance that holds it, the field and why. */
  records: { instanceId: string; id: string; createdAt: string; field: string; reason: string }[];
}

/** Membership as the run sees it (src/memory-layer/fleet.ts has the rule). */
export function createMembershipActivities(deps: ActivityDeps) {
  return {
    /** The fleet of the target now, and who has not applied `epoch`. Reads only. */
    async fleetStatus(input: { connectionProfile: string; target: string; epoch: number }): Promise<FleetStatus> {
      const members = await listFleet(deps.profiles.pool(input.connectionProfile), input.target, { heartbeatTtlMs: HEARTBEAT_TTL_MS });
      return { members, lagging: members.filter((m) => m.appliedEpoch < input.epoch) };
    },

    /**
     * The fleet now, before a switch of the primary and before the final cutover: who answers
     * (to back-fill those the run has not read yet), who is silent, who lags behind `epoch`.
     * Reads only.
     */
    async fleetCheck(input: { connectionProfile: string; target: string; apps: AppsSpec; epoch: number }): Promise<FleetCheck> {
      const pool = deps.profiles.pool(input.connectionProfile);
      const probe = await probeFleet(deps, pool, input.target, input.apps);
      const fleet = input.apps.discovery === 'static' ? [] : await listFleet(pool, input.target, { heartbeatTtlMs: HEARTBEAT_TTL_MS });
      return {
        members: [...probe.instances.map((i) => i.instanceId), ...probe.unreachable.map((u) => u.instanceId)].sort(),
        reachable: probe.instances.map((i) => ({ instanceId: i.instanceId, adminUrl: i.adminUrl })),
        silent: probe.unreachable.map((u) => note(u, u.error)),
        lagging: fleet.filter((m) => m.appliedEpoch < input.epoch).map((m) => note(m)),
      };
    },

    /**
     * The records each instance holds that Postgres cannot store (NUL, a lone surrogate: held
     * from before the API refused them). Back-fill, verify and the health checks leave them out;
     * the run names them here and waits for an operator's skip before the switch. Reads only.
     */
    async quarantineReport(input: { apps: Pick<AppsSpec, 'adminTokenRef'>; instances: InstanceRef[] }): Promise<QuarantineReport> {
      const out: QuarantineReport = { total: 0, records: [] };
      for (const instance of input.instances) {
        const r = await adminClient(deps, input.apps, instance).quarantine(QUARANTINE_LISTED);
        out.total += r.total;
        for (const q of r.records) if (out.records.length < QUARANTINE_LISTED) out.records.push({ instanceId: instance.instanceId, ...q });
      }
      return out;
    },

    /**
     * An operator declares an instance gone (the `forgetInstance` update): it leaves the fleet,
     * and the records only its memory held are given up. Idempotent; refused (non-retryable,
     * naming the field) for an unknown, cleanly stopped or live instance, or a bad argument.
     */
    async forgetInstance(input: { connectionProfile: string; target: string; instanceId: string; operator: string; reason: string }): Promise<ForgetResult> {
      try {
        return await forgetInstance(deps.profiles.pool(input.connectionProfile), {
          target: input.target,
          instanceId: input.instanceId,
          operator: input.operator,
          reason: input.reason,
          heartbeatTtlMs: HEARTBEAT_TTL_MS,
        });
      } catch (err) {
        if (err instanceof ForgetRefusedError || err instanceof InvalidModeError) throw nonRetryable('ForgetRefused', err.message, { field: err.field });
        throw err;
      }
    },
  };
}
