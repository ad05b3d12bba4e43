import { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../index';
import type { PersistenceMode } from '../../workflows/types';
import { getControl, setModeAndWait } from '../../src/memory-layer/control-plane';
import { barrierFailure } from '../lib/errors';
import { laggingMembers, type FleetMember } from '../../src/memory-layer/fleet';

export interface ChangeModeResult {
  epoch: number;
  /** The live instances that acknowledged the epoch: the set this barrier waited on. */
  acknowledged: string[];
  /** Fleet members (silent: the barrier did not wait for them) that have not applied the epoch. */
  notAcknowledged: FleetMember[];
  previous: PersistenceMode | null;
}

export function createModeActivities(deps: ActivityDeps) {
  return {
    /**
     * Sets the target's persistence mode (epoch + 1, NOTIFY) and waits until every live app
     * instance has applied it: the barrier. A barrier timeout is a non-retryable
     * BarrierTimeoutError naming the lagging instances; the workflow handles it like any
     * other failed step. Re-running it (a retry) sets the same mode again: harmless.
     */
    async changeMode(input: { connectionProfile: string; target: string; mode: PersistenceMode; actor: string; reason: string; timeoutSeconds: number }): Promise<ChangeModeResult> {
      const pool = deps.profiles.pool(input.connectionProfile);
      const prev = await getControl(pool, input.target);
      const beat = setInterval(() => Context.current().heartbeat({ waitingFor: input.mode }), 2000);
      try {
        const r = await setModeAndWait(pool, {
          target: input.target,
          mode: input.mode,
          actor: input.actor,
          reason: input.reason,
          timeoutMs: input.timeoutSeconds * 1000,
        });
        return {
          epoch: Number(r.epoch),
          acknowledged: r.acknowledged,
          notAcknowledged: await laggingMembers(pool, input.target, Number(r.epoch)),
          previous: prev ? prev.mode : null,
        };
      } catch (err) {
        throw barrierFailure(err);
      } finally {
        clearInterval(beat);
      }
    },
  };
}
