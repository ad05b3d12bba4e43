import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ClientBase, Pool } from 'pg';
import type { ActivityDeps } from '../index';
import { getControl, setMode, waitForEpoch, type ControlRow } from '../../src/memory-layer/control-plane';
import { liveInstances, relkind } from '../../src/shared/pg-catalog';
import type { PersistenceMode } from '../../workflows/types';
import { barrierFailure } from '../lib/errors';
import { grantAppDml } from '../lib/app-role';
import { qi } from '../../src/conversion/choice/names';

/**
 * sync "app-dual-write": the application keeps the shadow in sync instead of a trigger. The
 * control row (003 + 004) names a mirror table; every live instance then writes each change to
 * memory_records and to the mirror IN ONE TRANSACTION (pg-store.ts TableOptions.mirror): both
 * or neither, so in any snapshot the two tables agree exactly, as with the trigger.
 *
 *   before the copy   mirror = memory_records_partitioned, then the barrier: every write after
 *                     it is mirrored; every write before it is committed and seen by the copy
 *   at the swap       the renames, a bridge view memory_records_partitioned → memory_records_old
 *                     and mirror = memory_records_old, in ONE transaction. A write transaction
 *                     of an instance that has not applied the new epoch resolves both names
 *                     after the swap: memory_records (now partitioned) and, through the bridge,
 *                     memory_records_old. After the barrier the bridge goes.
 *   swap back         the mirror image (bridge memory_records_old → memory_records_partitioned)
 *   end               mirror removed (barrier) before the shadow or the old table is dropped
 */

/** A mode in force during the conversion: Postgres on memory_records, plus a mirror. */
export function mirrorMode(mirrorTable: string | undefined): PersistenceMode {
  return mirrorTable
    ? { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: true, mirrorTable }
    : { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false };
}

export interface AppSyncInput {
  profile: string;
  target: string;
  barrierTimeoutSeconds: number;
  heartbeatTtlMs?: number;
}

export interface MirrorResult {
  epoch: number;
  acknowledged: string[];
  /** The row already said so and every live instance had applied it (a retry). */
  already: boolean;
}

function liveInstancesOf(pool: Pick<Pool, 'query'>, input: Pick<AppSyncInput, 'target' | 'heartbeatTtlMs'>) {
  return liveInstances(pool, input.target, { heartbeatTtlMs: input.heartbeatTtlMs });
}

/** Sets the mirror (epoch + 1) and waits until every live instance has applied it. Idempotent. */
export async function setMirrorAndWait(pool: Pool, input: AppSyncInput & { mirrorTable: string | undefined; reason: string }): Promise<MirrorResult> {
  const row = await getControl(pool, input.target);
  const inForce = row !== null && row.mode.persistence === 'postgres' && row.mode.mirrorTable === input.mirrorTable;
  if (inForce) {
    // A retry: the row already says so; only the barrier may be missing.
    const lagging = (await liveInstancesOf(pool, input)).filter((i) => i.appliedEpoch < row.epoch);
    if (lagging.length === 0) return { epoch: row.epoch, acknowledged: [], already: true };
  }
  const epoch = inForce
    ? row.epoch
    : (await setMode(pool, { target: input.target, mode: mirrorMode(input.mirrorTable), actor: 'heapToPartitionedConversion', reason: input.reason })).epoch;
  return { ...(await barrier(pool, input, epoch)), already: false };
}

async function barrier(pool: Pool, input: AppSyncInput, epoch: number): Promise<{ epoch: number; acknowledged: string[] }> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat({ waitingForEpoch: epoch }), 2000);
  try {
    const { acknowledged } = await waitForEpoch(pool, { target: input.target, epoch, timeoutMs: input.barrierTimeoutSeconds * 1000, heartbeatTtlMs: input.heartbeatTtlMs });
    return { epoch, acknowledged };
  } catch (err) {
    throw barrierFailure(err);
  } finally {
    clearInterval(beat);
  }
}

/** A mirror name (unquoted, as the control row holds it) as SQL: qualified by `schema` when given (any table), else as is (memory_records' old engine). */
const sqlName = (name: string, schema?: string) => (schema ? `${qi(schema)}.${qi(name)}` : name);

/**
 * Inside the swap (or swap-back) transaction, after the renames: a bridge view under the name
 * the instances still mirror to, pointing at the table that now plays that part, and the
 * control row's mirror moved to the new name (NOTIFY delivered at commit). `bridge` and `to` are
 * the unquoted names the control row holds; `schema` (any table) qualifies them in the SQL.
 */
export async function moveMirrorInTransaction(c: ClientBase, input: { target: string; bridge: string; to: string; reason: string; schema?: string }): Promise<number> {
  const bridge = sqlName(input.bridge, input.schema);
  await c.query(`CREATE VIEW ${bridge} AS SELECT * FROM ${sqlName(input.to, input.schema)}`);
  await grantAppDml(c, input.bridge, input.schema); // the instances write through it as the app role
  const { epoch } = await setMode(c, { target: input.target, mode: mirrorMode(input.to), actor: 'heapToPartitionedConversion', reason: input.reason });
  return epoch;
}

/**
 * After the swap (or swap back) committed, or on a retry: waits until every live instance
 * mirrors to `to`, then drops the bridge view `bridge`. Idempotent.
 */
export async function finishMirrorMove(pool: Pool, input: AppSyncInput & { bridge: string; to: string; schema?: string }): Promise<{ epoch: number; acknowledged: string[] }> {
  const row = await getControl(pool, input.target);
  if (!row || row.mode.mirrorTable !== input.to) {
    throw ApplicationFailure.nonRetryable(
      `the control row of ${input.target} mirrors to ${row?.mode.mirrorTable ?? 'nothing'}, expected ${input.to}: the app sync was changed outside this run; check cutover_control`,
      'PreflightFailed');
  }
  const r = await barrier(pool, input, row.epoch);
  const bridge = sqlName(input.bridge, input.schema);
  if ((await relkind(pool, bridge)) === 'v') await pool.query(`DROP VIEW ${bridge}`);
  return r;
}

/** The app stops mirroring (Postgres on memory_records alone), then the barrier. Idempotent. */
export async function removeMirrorAndWait(pool: Pool, input: AppSyncInput, reason: string): Promise<MirrorResult> {
  const row = await getControl(pool, input.target);
  // No row, or a mode without a mirror that is not ours to change (not Postgres): nothing to undo.
  if (!row || (!row.mode.mirrorTable && row.mode.persistence !== 'postgres')) return { epoch: row?.epoch ?? 0, acknowledged: [], already: true };
  return setMirrorAndWait(pool, { ...input, mirrorTable: undefined, reason });
}

export function describeControl(row: ControlRow | null): string {
  if (!row) return 'no control row';
  return `${row.mode.persistence}${row.mode.mirrorTable ? ` mirroring to ${row.mode.mirrorTable}` : ''} (epoch ${row.epoch})`;
}

/**
 * What sync "app-dual-write" needs of the control plane: at least one live app instance of the
 * target (its registry key), every live one applying persistence 'postgres' on the table, and no
 * mirror in force but `shadow` (another conversion's leftovers). Read-only: the problem, or the
 * live instances and the control row.
 */
export async function appSyncCheck(pool: Pick<Pool, 'query'>, input: Pick<AppSyncInput, 'target' | 'heartbeatTtlMs'> & { shadow: string }): Promise<{ problem: string } | { instances: string[]; control: string }> {
  const live = await liveInstancesOf(pool, input);
  if (live.length === 0) {
    return { problem: `sync "app-dual-write" needs the app: no live instance of ${input.target} is registered on the control plane (cutover_instances); ` +
      `start the application against this database (for memory_records: the memory-layer service), or use sync "trigger"` };
  }
  const notPg = live.filter((i) => (i.appliedMode as Partial<PersistenceMode>).persistence !== 'postgres');
  if (notPg.length) {
    return { problem: `sync "app-dual-write" needs every live instance in persistence "postgres" on the heap table; ` +
      `${notPg.map((i) => `${i.instanceId} is in ${JSON.stringify((i.appliedMode as Partial<PersistenceMode>).persistence ?? 'unknown')}`).join(', ')}; use sync "trigger" or switch the app first` };
  }
  const row = await getControl(pool, input.target);
  if (row?.mode.mirrorTable && row.mode.mirrorTable !== input.shadow) {
    return { problem: `the control row of ${input.target} already mirrors to ${row.mode.mirrorTable}: an earlier conversion did not finish; ` +
      `finish or roll it back (or set the mode without a mirror) before converting again` };
  }
  return { instances: live.map((i) => i.instanceId), control: describeControl(row) };
}

/** appSyncCheck, a problem thrown as a non-retryable PreflightFailed (nothing changed yet). */
export async function checkAppSync(pool: Pick<Pool, 'query'>, input: AppSyncInput & { shadow: string }): Promise<{ instances: string[]; control: string }> {
  const r = await appSyncCheck(pool, input);
  if ('problem' in r) throw ApplicationFailure.nonRetryable(r.problem, 'PreflightFailed');
  return r;
}

export function createAppSyncActivities(deps: Pick<ActivityDeps, 'profiles'>) {
  return {
    /**
     * Preflight of sync "app-dual-write" (appSyncCheck): throws PreflightFailed naming what is
     * missing.
     */
    async checkAppSync(input: AppSyncInput): Promise<{ instances: string[]; control: string }> {
      return checkAppSync(deps.profiles.pool(input.profile), { ...input, shadow: 'memory_records_partitioned' });
    },

    /** Every live instance mirrors its writes into the shadow, then the barrier. Idempotent. */
    async installAppMirror(input: AppSyncInput & { mirrorTable: string }): Promise<MirrorResult> {
      const pool = deps.profiles.pool(input.profile);
      if ((await relkind(pool, input.mirrorTable)) === null) {
        throw ApplicationFailure.nonRetryable(`${input.mirrorTable} is missing: create the shadow first`, 'PreflightFailed');
      }
      return setMirrorAndWait(pool, { ...input, reason: `conversion: the app mirrors every write into ${input.mirrorTable}` });
    },

    /** No mirror any more (Postgres on memory_records alone), then the barrier. Idempotent. */
    async removeAppMirror(input: AppSyncInput & { reason: string }): Promise<MirrorResult> {
      return removeMirrorAndWait(deps.profiles.pool(input.profile), input, input.reason);
    },
  };
}
