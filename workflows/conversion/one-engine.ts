import { readConversionChoice } from '../../src/conversion/choice/choice';
import type { ConversionSettings } from '../conversion-input';
import type { GenericConversionSettings } from './generic-input';
import type { GenericConversionSummary } from './generic';
import type { ConversionSummary } from './run';

/**
 * memory_records on the any-table engine (issue 25 item 1): the preset of the form without
 * `table` — monthly partitions by created_at, premakeMonths ahead — and the settings that form
 * gives, as the any-table engine takes them.
 */
export function memoryRecordsPreset(s: ConversionSettings): GenericConversionSettings {
  const choice = readConversionChoice({
    table: 'memory_records', partitionBy: { column: 'created_at', interval: 'month' },
    options: { premake: s.premakeMonths, maintenance: { schedule: false } },
  });
  return {
    preset: 'memory_records', choice, connectionProfile: s.connectionProfile, nonProduction: s.nonProduction,
    ...(s.sync === 'app-dual-write' ? { sync: s.sync, appBarrierTimeoutSeconds: s.appBarrierTimeoutSeconds } : {}),
    retentionMinutes: s.retentionMinutes, retentionCheckMinutes: s.retentionCheckMinutes,
    batchSize: s.copy.batchSize, maxRowsPerSecond: s.copy.maxRowsPerSecond, sliceSeconds: s.copy.sliceSeconds,
    maxReplicaLagMs: s.copy.maxReplicaLagMs, maxSlotRetainedWalBytes: s.copy.maxSlotRetainedWalBytes,
    copyHeartbeatTimeoutSeconds: s.copy.heartbeatTimeoutSeconds,
    lockTimeoutMs: s.lock.lockTimeoutMs, swapRetry: { maxTries: s.lock.maxTries, backoffMs: s.lock.backoffMs, maxBackoffMs: s.lock.maxBackoffMs }, approveBeforeSwap: s.approveBeforeSwap, history: s.history,
  };
}

/** The any-table engine's summary in the shape memory_records' runs have always returned. */
export function asConversionSummary(g: GenericConversionSummary, s: ConversionSettings): ConversionSummary {
  return {
    outcome: g.outcome, target: 'memory_records', sync: s.sync, ...(g.cause ? { cause: g.cause } : {}),
    partitions: [],
    copy: { rows: g.copy?.rows ?? 0, batches: g.copy?.batches ?? 0, slices: g.copy?.slices ?? 0, ms: 0, resumes: (g.copy?.resumes ?? []) as never[] },
    parity: { rounds: 1, months: [], repaired: [] },
    ...(g.swap ? { swap: { alreadySwapped: false, tries: g.swap.tries, lockHoldMs: g.swap.lockMs ?? null, transactionMs: g.swap.lockMs ?? null, operatorRetries: 0 } } : {}),
    ...(g.postSwap ? { postSwap: { ok: g.postSwap.match, problems: g.postSwap.match ? [] : [`differs: ${g.postSwap.differing?.join('; ') ?? ''}`], landedIn: null, mirrored: g.postSwap.mirrored ?? g.postSwap.match, recentWrites: 0 } } : {}),
    ...(g.retention ? { retention: g.retention } : {}),
    droppedOldTable: g.droppedOldTable,
    ...(g.keptTables ? { keptTables: g.keptTables } : {}),
    rollbacks: g.rollbacks, phases: g.phases, decisions: g.decisions,
  } as ConversionSummary;
}
