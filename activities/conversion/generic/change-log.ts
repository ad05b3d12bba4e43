import { checkout } from '../../../src/config/pg-checkout';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import { utcDay } from '../../../src/conversion/choice/intervals';
import type { ConversionPlan } from '../plan/plan';
import { create, refuseUnplaceable, type PartitionOps } from './partitions';

/**
 * The change-log engine's replay (plan/change-log.ts says what it proves): rounds of one
 * REPEATABLE READ transaction each, until a round took at most `shortEnough` keys (the tail the
 * swap drains under its lock) or `maxRounds` ran. Before each round, the partitions the logged
 * keys' heap rows need are created outside any application transaction (each in its own short
 * lock_timeout transaction); a row that moved meanwhile to an interval without one fails the
 * round (23514, nothing changed) and the next round creates it. Idempotent: a round deletes only
 * the entries it applied, in the same transaction.
 */
export interface ReplayResult {
  /** Keys replayed (a key logged twice in one round counts once). */
  replayed: number;
  rounds: number;
  /** Entries left in the log when it stopped. */
  left: number;
  created: string[];
}

/** SQLSTATEs a round is retried on: no partition for a row (it is created next round), a serialization failure, a lock wait past lock_timeout. */
const RETRY_ROUND = new Set(['23514', '40001', '40P01', '55P03']);

export async function replayLog(o: PartitionOps, p: ConversionPlan, choice: ConversionChoice, opts: { shortEnough?: number; maxRounds?: number; onRound?: (r: ReplayResult) => void; beforeRound?: (r: ReplayResult) => Promise<void>; signal?: AbortSignal } = {}): Promise<ReplayResult> {
  const log = p.changeLog;
  if (!log) throw new Error(`the plan of ${p.table} has no change log`);
  const out: ReplayResult = { replayed: 0, rounds: 0, left: 0, created: [] };
  const shortEnough = opts.shortEnough ?? 1000;
  const maxRounds = opts.maxRounds ?? 50;
  for (let round = 0; round < maxRounds; round++) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    await opts.beforeRound?.({ ...out });
    out.created.push(...(await missingPartitions(o, p, choice)));
    const c = await checkout(o.pool);
    let took = -1;
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await c.query(`SELECT set_config('row_security', 'off', true)`); // every row or an error, never a filter
      await c.query(`SELECT set_config('lock_timeout', $1, true)`, [`${Math.max(o.lockTimeoutMs, 1000)}ms`]);
      await c.query(log.replay[0]);
      took = (await c.query<{ n: number }>(log.replayedCount)).rows[0].n;
      for (const s of log.replay.slice(1)) await c.query(s);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      if (!RETRY_ROUND.has((err as { code?: string }).code ?? '')) throw err;
      took = -1;
    } finally {
      c.release();
    }
    out.rounds++;
    if (took >= 0) out.replayed += took;
    out.left = (await o.pool.query<{ n: number }>(log.countSql)).rows[0].n;
    opts.onRound?.({ ...out });
    if (took >= 0 && took <= shortEnough) return out;
  }
  return out;
}

/** The partitions the logged keys' heap rows need and the shadow lacks, created; refused when a value can have none (±infinity without a DEFAULT). */
export async function missingPartitions(o: PartitionOps, p: ConversionPlan, choice: ConversionChoice): Promise<string[]> {
  const log = p.changeLog;
  if (!log || choice.options.defaultPartition) return [];
  const rows = (await o.pool.query<{ start: string | null; unplaceable: boolean }>(log.missingStartsSql)).rows;
  const bad = rows.filter((r) => r.unplaceable).length;
  if (bad) throw refuseUnplaceable(p, bad);
  return create(o, p, choice, 'shadow', rows.map((r) => utcDay(r.start!)));
}
