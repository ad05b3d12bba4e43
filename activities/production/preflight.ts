import type { ActivityDeps } from '../index';
import { applyPlan } from '../../src/migrations/runner';
import { preflightFailed, runAlreadyActive } from '../lib/errors';
import { finishRun, registerRun, relkind } from '../../src/shared/pg-catalog';
import { pruneTombstonesOfRun } from '../../src/memory-layer/storage/tombstones';
import { getControl } from '../../src/memory-layer/control-plane';
import { monthsBetween, type MonthRange } from '../lib/months';
import { probeFleet, type AppsSpec } from './instances';
import type { InstanceRef, InstanceStats } from '../lib/admin-client';
import type { FleetMember } from '../../src/memory-layer/fleet';

export type SchemaState = 'absent' | 'partitioned' | 'heap';

export interface PreflightResult {
  schemaState: SchemaState;
  /** The fleet members that answered (their records are in totalRecords and months). */
  instances: (InstanceRef & { stats: InstanceStats })[];
  /**
   * Fleet members (registered, not cleanly stopped, not forgotten) that are silent and did not
   * answer: they may hold acknowledged records nobody has seen. The run must back-fill them if
   * they come back, or an operator must forget them, before memory is given up.
   */
  unreachable: (FleetMember & { error: string })[];
  totalRecords: number;
  months: MonthRange[];
  control: { persistence: string; primary: string; epoch: number } | null;
  serverVersion: string;
}

export async function schemaStateOf(deps: ActivityDeps, profile: string, table: string): Promise<SchemaState> {
  const k = await relkind(deps.profiles.pool(profile), table);
  if (!k) return 'absent';
  if (k === 'p') return 'partitioned';
  if (k === 'r') return 'heap';
  throw preflightFailed(`${table} exists but is neither a table nor a partitioned table (relkind ${k}); rename or remove it first`);
}

export function createPreflightActivities(deps: ActivityDeps) {
  return {
    /**
     * Preflight: schema state, the app instances and their modes, record counts and months.
     * Changes nothing except the control-plane tables (created if absent, idempotently).
     */
    async preflight(input: { connectionProfile: string; target: string; apps: AppsSpec }): Promise<PreflightResult> {
      const pool = deps.profiles.pool(input.connectionProfile);
      const version = (await pool.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0].v;
      const schemaState = await schemaStateOf(deps, input.connectionProfile, input.target);
      if (schemaState === 'heap') {
        throw preflightFailed(
          `${input.target} is a heap (non-partitioned) table: the production cutover needs the partitioned table. ` +
            'Follow the runbook\'s "Heap-to-Partitioned Conversion Procedure" first: start the heapToPartitionedConversion workflow (cutover start conversion).',
        );
      }
      await deps.profiles.withClient(input.connectionProfile, (c) => applyPlan(c, 'control'));
      const { instances, unreachable } = await probeFleet(deps, pool, input.target, input.apps);
      if (instances.length === 0) {
        throw preflightFailed(
          `no reachable app instance for ${input.target}` +
            (unreachable.length ? ` (silent: ${unreachable.map((u) => `${u.instanceId}, last heartbeat ${u.lastHeartbeat}`).join('; ')})` : '') +
            ': start the memory-layer service (npm run server) or list apps.endpoints with discovery "static"',
        );
      }
      const mins = instances.map((i) => i.stats.minCreatedAt).filter((x): x is string => !!x).sort();
      const maxs = instances.map((i) => i.stats.maxCreatedAt).filter((x): x is string => !!x).sort();
      const months = mins.length ? monthsBetween(new Date(mins[0]), new Date(maxs[maxs.length - 1])) : [];
      const ctl = await getControl(pool, input.target);
      return {
        schemaState,
        instances,
        unreachable,
        totalRecords: instances.reduce((a, i) => a + i.stats.count, 0),
        months,
        control: ctl ? { persistence: ctl.mode.persistence, primary: ctl.mode.primary, epoch: ctl.epoch } : null,
        serverVersion: version,
      };
    },

    /** Records this run as the one active run of the target (Postgres enforces one). Idempotent. */
    async registerRun(input: { connectionProfile: string; target: string; runId: string; workflowId: string; kind: string }): Promise<void> {
      await deps.profiles.withClient(input.connectionProfile, (c) => applyPlan(c, 'control'));
      const other = await registerRun(deps.profiles.pool(input.connectionProfile), input);
      if (other) throw runAlreadyActive(input.target, other);
    },

    /** Marks the run ended (completed, rolled_back, aborted, failed); the first end recorded stays. Idempotent. */
    async finishRun(input: { connectionProfile: string; runId: string; status: 'completed' | 'rolled_back' | 'aborted' | 'failed' }): Promise<void> {
      await finishRun(deps.profiles.pool(input.connectionProfile), input.runId, input.status);
      // After the final cutover no memory store or back-fill writes any more (tombstones.ts).
      if (input.status === 'completed') await pruneTombstonesOfRun(deps.profiles.pool(input.connectionProfile), input.runId);
    },

    /** Ensure schema: the safe migration (002 + control plane) when the table is absent. */
    async ensureSchema(input: { connectionProfile: string; target: string }): Promise<{ applied: string[]; state: SchemaState }> {
      const state = await schemaStateOf(deps, input.connectionProfile, input.target);
      if (state === 'heap') throw preflightFailed(`${input.target} became a heap table since preflight; follow the conversion procedure`);
      const results = await deps.profiles.withClient(input.connectionProfile, (c) => applyPlan(c, 'partitioned', { appliedBy: 'productionCutover' }));
      return { applied: results.filter((r) => r.outcome !== 'skipped').map((r) => r.name), state };
    },
  };
}
