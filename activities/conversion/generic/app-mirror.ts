import type { ClientBase, Pool } from 'pg';
import { finishMirrorMove, moveMirrorInTransaction, type AppSyncInput } from '../app-sync';
import { getControl } from '../../../src/memory-layer/control-plane';
import { relkind } from '../../../src/shared/pg-catalog';
import { lit, qi } from '../../../src/conversion/choice/names';
import { nonRetryable } from '../../lib/errors';

/**
 * Sync "app-dual-write" on the any-table engine (GenericInput.app): the application mirrors every
 * write of the table into the shadow in its own transaction, switched through the control plane
 * (activities/conversion/app-sync.ts, the same functions memory_records' first engine used). Here:
 * the steps the generic activities take around their own transactions — the preflight check, the
 * mirror moved inside the swap (and the swap back) with a bridge view, the barrier after, and the
 * mirror removed before a table the app writes is dropped.
 */
export interface GenericAppSync {
  /** How long every live instance has to apply a mirror change (input appBarrierTimeoutSeconds). */
  barrierTimeoutSeconds: number;
  /** The control-plane key (the run registry's key, registryTarget): set once preflight has read it. */
  target?: string;
}

/** The mirror's names as the control row holds them (unquoted: plan.ts refuses others) and the schema that qualifies them in SQL. */
export interface MirrorNames {
  schema: string;
  shadow: string;
  old: string;
}

export function appInput(profile: string, app: GenericAppSync): AppSyncInput {
  if (!app.target) throw nonRetryable('PreflightFailed', 'sync "app-dual-write": the control-plane key of the table is missing (preflight sets it)');
  return { profile, target: app.target, barrierTimeoutSeconds: app.barrierTimeoutSeconds };
}

/** The control row of the target names `table` as the app's mirror. */
export async function mirrorsInto(c: Pick<ClientBase, 'query'>, a: AppSyncInput, table: string): Promise<boolean> {
  return (await getControl(c, a.target))?.mode.mirrorTable === table;
}

/** In the swap's (or swap back's) transaction: the mirror the control row names, the row locked until the commit (read, checked and moved atomically). */
async function lockedMirror(c: Pick<ClientBase, 'query'>, target: string): Promise<string | null> {
  return (await c.query<{ mirror_table: string | null }>('SELECT mirror_table FROM cutover_control WHERE target = $1 FOR UPDATE', [target])).rows[0]?.mirror_table ?? null;
}

/** In the swap's transaction, after the renames: a bridge view under the shadow's name onto the old table, the mirror moved to it. */
export async function mirrorToOldInSwap(c: ClientBase, a: AppSyncInput, n: MirrorNames): Promise<void> {
  // Read again under the swap's locks, the control row locked until the commit: a shadow the app stopped mirroring into
  // (an operator, another run's rollback on the same row) never becomes the table in use.
  const mirror = await lockedMirror(c, a.target);
  if (mirror !== n.shadow) {
    throw nonRetryable('PreflightFailed', `refusing to swap: the control row of ${a.target} mirrors to ${mirror ?? 'nothing'}, not ${n.shadow}, so the shadow may lack writes; the app sync was changed outside this run (check cutover_control); the run rolls back`);
  }
  await moveMirrorInTransaction(c, { target: a.target, bridge: n.shadow, to: n.old, schema: n.schema, reason: `conversion: swapped; the app mirrors every write into ${n.old} until the old table is dropped` });
}

/** After the swap committed (or on a retry of it): every live instance mirrors into the old table, then the bridge goes. */
export async function finishSwapMirror(pool: Pool, a: AppSyncInput, n: MirrorNames): Promise<{ epoch: number; acknowledged: string[] }> {
  return finishMirrorMove(pool, { ...a, bridge: n.shadow, to: n.old, schema: n.schema });
}

/**
 * In the swap back's transaction, after the renames: the mirror image — a bridge view under the
 * old table's name onto the partitioned table (now the shadow again), the mirror moved to it.
 * Not when the mirror is not on the old table (it was removed before the drop): false.
 */
export async function mirrorBackInSwapBack(c: ClientBase, a: AppSyncInput, n: MirrorNames): Promise<boolean> {
  const mirror = await lockedMirror(c, a.target);
  if (mirror !== n.old) {
    // The app stopped mirroring into the old table (the drop's first step, or a change outside this run): since then only the
    // partitioned table took the writes, so the old one lacks them. Swapping back would put it in use without them: refused, the
    // renames undone with this transaction; the partitioned table stays in use, nothing is lost.
    throw nonRetryable('StillSwapped', `refusing to swap back: the control row of ${a.target} mirrors to ${mirror ?? 'nothing'}, not ${n.old}, so ${n.old} lacks the writes since; ` +
      `${n.schema}.${n.old} stays aside and the partitioned table in use (nothing lost); drop ${n.old} by hand once you no longer need it, or copy back what it lacks before any swap back by hand`);
  }
  await moveMirrorInTransaction(c, { target: a.target, bridge: n.old, to: n.shadow, schema: n.schema, reason: 'conversion rolled back: swapped back; the app mirrors into the shadow until it is removed' });
  return true;
}

/** After a swap back (or on a retry): the barrier for the mirror on the shadow, then the bridge goes. Idempotent. */
export async function finishSwapBackMirror(pool: Pool, a: AppSyncInput, n: MirrorNames): Promise<void> {
  if ((await getControl(pool, a.target))?.mode.mirrorTable === n.shadow) {
    await finishMirrorMove(pool, { ...a, bridge: n.old, to: n.shadow, schema: n.schema });
    return;
  }
  const bridge = `${qi(n.schema)}.${qi(n.old)}`;
  if ((await relkind(pool, bridge)) === 'v') await pool.query(`DROP VIEW ${bridge}`);
}

/** The mark of a shadow judged covered while the app still mirrored into it (its table comment: the shadow is the tool's own and is dropped next). */
const COVERED = 'lichen-cutover: judged under both locks while the app still mirrored into it: holds no row image the table lacked; dropped once the mirror is removed';

/** In the judging transaction: the shadow is marked covered. */
export async function markCovered(c: Pick<ClientBase, 'query'>, shadow: string): Promise<void> {
  await c.query(`COMMENT ON TABLE ${shadow} IS ${lit(COVERED)}`);
}

/** The shadow carries the mark of markCovered (this attempt's, or an earlier one's before it lost its worker). */
export async function judgedCovered(c: Pick<ClientBase, 'query'>, shadow: string): Promise<boolean> {
  const r = await c.query<{ d: string | null }>(`SELECT obj_description(to_regclass($1), 'pg_class') AS d`, [shadow]);
  return r.rows[0]?.d === COVERED;
}
