import { describe, expect, it } from 'vitest';
import { parseProductionInput } from '../../workflows/production-input';

describe('productionCutover input: the replica-lag limits of the backfill', () => {
  it('default to off (0) and take non-negative integers, naming the field otherwise', () => {
    expect(parseProductionInput({}).backfill).toMatchObject({ maxReplicaLagMs: 0, maxSlotRetainedWalBytes: 0 });
    expect(parseProductionInput({ backfill: { maxReplicaLagMs: 5000, maxSlotRetainedWalBytes: 1 << 30 } }).backfill).toMatchObject({ maxReplicaLagMs: 5000, maxSlotRetainedWalBytes: 1 << 30 });
    expect(() => parseProductionInput({ backfill: { maxReplicaLagMs: -1 } })).toThrow(/backfill\.maxReplicaLagMs.*integer from 0/);
    expect(() => parseProductionInput({ backfill: { maxSlotRetainedWalBytes: 1.5 } })).toThrow(/backfill\.maxSlotRetainedWalBytes/);
    expect(() => parseProductionInput({ backfill: { maxReplicaLagMs: '5s' as unknown as number } })).toThrow(/backfill\.maxReplicaLagMs/);
  });
});
