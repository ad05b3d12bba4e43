import type { ActivityDeps } from '../index';
import { InvalidModeError } from '../../src/memory-layer/control-plane';
import { ForgetRefusedError, forgetInstance, listFleet, type FleetMember, type ForgetResult } from '../../src/memory-layer/fleet';
import { nonRetryable } from '../lib/errors';
import { HEARTBEAT_TTL_MS } from '../../src/shared/pg-catalog';

export interface FleetStatus {
  members: FleetMember[];
  /** Members that have not applied `epoch`, each with its last heartbeat and applied epoch. */
  lagging: FleetMember[];
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
