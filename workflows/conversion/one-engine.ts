import { readConversionChoice } from '../../src/conversion/choice/choice';
import type { ConversionSettings } from '../conversion-input';
import type { GenericConversionSettings } from './generic-input';
import type { GenericContinuation, GenericConversionSummary } from './generic';
import type { ConversionSummary } from './run';

/**
 * memory_records on the any-table engine (issue 25 item 1): the preset of the form without
 * `table` — monthly partitions by created_at, premakeMonths ahead, no maintenance Schedule of
 * its own (the production path's partition maintenance keeps memory_records) — and the settings
 * that form gives, as the any-table engine takes them.
 */
export function memoryRecordsPreset(s: ConversionSettings, continued?: GenericContinuation): GenericConversionSettings {
  const choice = readConversionChoice({
    table: 'memory_records', partitionBy: { column: 'created_at', interval: 'month' },
    options: { premake: s.premakeMonths, maintenance: { schedule: false } },
  });
  return {
    preset: 'memory_records', choice, connectionProfile: s.connectionProfile, nonProduction: s.nonProduction,
    ...(s.sync === 'app-dual-write' ? { sync: s.sync, appBarrierTimeoutSeconds: s.appBarrierTimeoutSeconds } : {}),
    retentionMinutes: s.retentionMinutes, retentionCheckMinutes: s.retentionCheckMinutes,
    batchSize: s.copy.batchSize, maxRowsPerSecond: s.copy.maxRowsPerSecond, checkMaxRowsPerSecond: 0, maxRepairRounds: s.maxRepairRounds, sliceSeconds: s.copy.sliceSeconds,
    maxReplicaLagMs: s.copy.maxReplicaLagMs, maxSlotRetainedWalBytes: s.copy.maxSlotRetainedWalBytes,
    copyHeartbeatTimeoutSeconds: s.copy.heartbeatTimeoutSeconds,
    lockTimeoutMs: s.lock.lockTimeoutMs, swapRetry: { maxTries: s.lock.maxTries, backoffMs: s.lock.backoffMs, maxBackoffMs: s.lock.maxBackoffMs },
    approveBeforeSwap: s.approveBeforeSwap, history: s.history,
    ...(continued ? { continued } : {}),
  };
}

/** A continuation the any-table engine wrote (it carries `planAt`); memory_records' own engine's never does. */
export function isOneEngineContinuation(continued: unknown): continued is GenericContinuation {
  return typeof continued === 'object' && continued !== null && 'planAt' in continued;
}

/** The bound's lower value of a partition range `[from, to)` (null: none, or not a range). */
const lowerBound = (bound: string | undefined): string | null => (bound && /^\[(.+?), /.exec(bound)?.[1]) || null;

/**
 * The any-table engine's summary, with the fields memory_records' runs have always returned beside
 * its own (one object: the engine's names and the old ones both read): `sync`, `parity.months`,
 * `copy.resumes` with the cursor fields, `swap.lockHoldMs`, `postSwap.ok` / `mirrored`, and the
 * kept tables compared with `memory_records` (not its quoted name). Fields of the first engine the
 * one engine has no measure of keep a constant: `copy.ms` 0 (the copy phase's times are in
 * `phases`), `parity.rounds` 1 (repairs are per range, counted in `parity.partitions`),
 * `repaired[].deleted` 0 (a repair re-reads each key; upserts and deletes are not told apart),
 * `postSwap.landedIn` null and `recentWrites` 0 (the check compares every partition instead).
 */
export function asConversionSummary(g: GenericConversionSummary, s: ConversionSettings): ConversionSummary & GenericConversionSummary {
  const parts = g.parity?.partitions ?? [];
  // memory_records' months: its monthly partitions (memory_records_pYYYY_MM) only, never a gap, NULLs or a DEFAULT partition.
  const monthOf = (name: string) => /^memory_records_p(\d{4})_(\d{2})$/.exec(name);
  const own = parts.filter((p) => monthOf(p.partition));
  const months = own.map((p) => {
    const m = monthOf(p.partition)!;
    return { month: `${m[1]}-${m[2]}-01`, source: { count: Number(p.table) }, shadow: { count: Number(p.shadow) }, match: p.match };
  });
  const firstLeft = (name: string | null) => lowerBound(parts.find((p) => p.partition === name)?.bound) ?? name ?? 'infinity';
  const copy = g.copy ?? { rows: 0, batches: 0, resumed: false };
  const out = {
    ...g,
    sync: s.sync,
    partitions: own.map((p) => p.partition),
    preflight: g.plan?.facts ? { heapRows: g.plan.facts.rows, ...(g.plan.facts.rowsEstimated ? { heapRowsEstimated: true as const } : {}), heapBytes: g.plan.size.tableBytes, months: months.map((m) => m.month) } : undefined,
    copy: {
      ...copy, slices: copy.slices ?? 1, ms: 0,
      resumes: (copy.resumes ?? []).map((r) => ({ ...r, rowsScannedBefore: r.rowsBefore, createdAt: firstLeft(r.resumedAt), id: '' })),
    },
    parity: {
      ...(g.parity ?? { match: false, count: '0' }), rounds: 1, months,
      // Keys re-copied per partition (a repair re-reads each key from the heap: an upsert or a delete, not told apart).
      repaired: own.flatMap((p, i) => (p.repaired > 0 ? [{ month: months[i].month, upserted: p.repaired, deleted: 0 }] : [])),
    },
    ...(g.swap ? { swap: { ...g.swap, alreadySwapped: g.swap.lockMs === null, lockHoldMs: g.swap.lockMs ?? null, transactionMs: g.swap.transactionMs ?? null, operatorRetries: g.swap.operatorRetries ?? 0 } } : {}),
    ...(g.postSwap ? { postSwap: { ...g.postSwap, ok: g.postSwap.match, problems: g.postSwap.match ? [] : (g.postSwap.differing ?? [`${g.postSwap.count} rows differ from memory_records_old`]), landedIn: null, mirrored: g.postSwap.mirrored ?? g.postSwap.match, recentWrites: 0 } } : {}),
    ...(g.keptTables ? { keptTables: g.keptTables.map((k) => (k.comparedWith === '"public"."memory_records"' ? { ...k, comparedWith: 'memory_records' } : k)) } : {}),
  };
  return out as unknown as ConversionSummary & GenericConversionSummary;
}
