import type { Pool } from 'pg';
import { nonRetryable } from '../../lib/errors';
import { checkout } from '../../../src/config/pg-checkout';
import type { createTableMaintenanceActivities } from '../../maintenance-table';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import { floorTo, intervalStarts, nextStart, utcDay, type PartitionType } from '../../../src/conversion/choice/intervals';
import type { ConversionPlan } from '../plan/plan';
import { columnIndexedSql } from '../plan/range-parity-sql';

/**
 * The partitions of a conversion that the plan's shadow did not have (plan/pending.ts says why
 * the sync never creates one): each is created outside any application transaction, in its own
 * short lock_timeout transaction, by the same code as partition maintenance (named by the
 * table's scheme, owned by the table's owner with its grants).
 */
type Premake = ReturnType<typeof createTableMaintenanceActivities>['premakeTablePartitions'];

export interface PartitionOps {
  profile: string;
  pool: Pool;
  premake: Premake;
  lockTimeoutMs: number;
}

function partitionType(p: ConversionPlan): PartitionType {
  if (!p.partitionBy.type) throw new Error(`the plan of ${p.table} has no partition type`);
  return p.partitionBy.type;
}

/** Partitions of the shadow (or the table) for these interval starts, in short lock_timeout transactions; the names created. */
export async function create(o: PartitionOps, p: ConversionPlan, choice: ConversionChoice, parent: 'shadow' | 'table', starts: number[]): Promise<string[]> {
  if (!starts.length) return [];
  const r = await o.premake({
    profile: o.profile, schema: schemaOf(p), name: tableName(p), parentName: parent === 'shadow' ? shadowNameOf(p) : undefined,
    type: partitionType(p), interval: choice.interval, starts, lockTimeoutMs: o.lockTimeoutMs,
  });
  return r.created;
}

/** The raw schema and name of the plan's table (the plan keeps them quoted). */
function parts(q: string): [string, string] {
  const m = /^"((?:[^"]|"")*)"\."((?:[^"]|"")*)"$/.exec(q);
  if (!m) throw new Error(`not a quoted qualified name: ${q}`);
  return [m[1].replace(/""/g, '"'), m[2].replace(/""/g, '"')];
}
const schemaOf = (p: ConversionPlan) => parts(p.table)[0];
const tableName = (p: ConversionPlan) => parts(p.table)[1];
const shadowNameOf = (p: ConversionPlan) => parts(p.names.shadow)[1];

/** The interval starts from the one holding `now` to `premake` ahead. */
export function aheadStarts(choice: ConversionChoice, now: number): number[] {
  let end = floorTo(choice.interval, now);
  for (let i = 0; i < choice.options.premake; i++) end = nextStart(choice.interval, end);
  return intervalStarts(choice.interval, now, end, choice.options.premake + 1);
}

/** Partitions of the shadow (before the swap) or of the table (after it) from now to `premake` ahead. */
export async function partitionsAhead(o: PartitionOps, p: ConversionPlan, choice: ConversionChoice, parent: 'shadow' | 'table', now = Date.now()): Promise<{ created: string[]; until: string }> {
  const starts = aheadStarts(choice, now);
  const created = await create(o, p, choice, parent, starts);
  return { created, until: new Date(nextStart(choice.interval, starts[starts.length - 1])).toISOString() };
}

export const refuseUnplaceable = (p: ConversionPlan, n: number) =>
  nonRetryable('NoPartitionPossible', `${n} row(s) of ${p.table} written since the plan have ${p.partitionBy.column} = ±infinity or a year outside 1–9999: no ${p.partitionBy.interval} partition can hold them; choose options.defaultPartition (or change those rows) and start again`);

/**
 * Right after the sync's installation: a partition for every interval of the heap's rows outside
 * the shadow's range (written between the plan's scan and the installation), so the copy never
 * meets a row without one. Read-only: through the heap's btree index led by the column (one index probe
 * per interval with rows, and two index ranges for the values no interval holds), or one scan without it.
 */
export async function partitionsForHeap(o: PartitionOps, p: ConversionPlan, choice: ConversionChoice): Promise<{ created: string[] }> {
  if (!p.pending || choice.options.defaultPartition) return { created: [] };
  // Through the heap's index on the column when it has one (one probe per interval with rows), else one scan.
  const indexed = (await o.pool.query<{ indexed: boolean }>(columnIndexedSql, [p.table, choice.column])).rows[0].indexed;
  const sql = indexed ? p.pending.byIndex : p.pending;
  const bad = (await o.pool.query<{ n: number }>(sql.heapUnplaceableSql)).rows[0].n;
  if (bad > 0) throw refuseUnplaceable(p, bad);
  const starts = (await o.pool.query<{ start: string }>(sql.heapOutsideSql)).rows.map((r) => utcDay(r.start));
  return { created: await create(o, p, choice, 'shadow', starts) };
}

/**
 * The writes the sync kept out of the shadow (no partition for them): their partitions created,
 * their keys replayed from the heap (read FOR SHARE, as the copy does) in one transaction, until
 * none is left (a few rounds; writes keep coming). Idempotent.
 */
export async function settlePending(o: PartitionOps, p: ConversionPlan, choice: ConversionChoice, maxRounds = 10): Promise<{ created: string[]; replayed: number; left: number }> {
  const created: string[] = [];
  let replayed = 0;
  if (!p.pending || choice.options.defaultPartition) return { created, replayed, left: 0 };
  const pending = p.pending;
  const count = async () => Number((await o.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${pending.table}`)).rows[0].n);
  for (let round = 0; round < maxRounds; round++) {
    const rows = (await o.pool.query<{ start: string; unplaceable: boolean }>(pending.pendingStartsSql)).rows;
    const bad = rows.filter((r) => r.unplaceable).length;
    if (bad) throw refuseUnplaceable(p, bad);
    created.push(...(await create(o, p, choice, 'shadow', rows.map((r) => utcDay(r.start)))));
    if ((await count()) === 0) return { created, replayed, left: 0 };
    const c = await checkout(o.pool);
    try {
      await c.query('BEGIN');
      await c.query(`SELECT set_config('lock_timeout', $1, true)`, [`${Math.max(o.lockTimeoutMs, 1000)}ms`]);
      await c.query(pending.replay[0]);
      replayed += Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM lichen_pending_keys`)).rows[0].n);
      for (const s of pending.replay.slice(1)) await c.query(s);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      // A key whose row moved to an interval without a partition since the read: the next round creates it.
      if ((err as { code?: string }).code !== '23514') throw err;
    } finally {
      c.release();
    }
  }
  return { created, replayed, left: await count() };
}
