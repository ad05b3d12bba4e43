import { describe, expect, it } from 'vitest';
import { parseGenericConversionInput, scanThrottle } from '../../../workflows/conversion/generic-input';
import { parseConversionInput } from '../../../workflows/conversion-input';
import { InputError } from '../../../src/shared/input-reader';

const base = { table: 'shop.orders', partitionBy: { column: 'placed_at', interval: 'month' } };
const message = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('no error');
};

describe('heapToPartitionedConversion input for any table: the replica-lag limits of its scans', () => {
  it('default to off (0) and carry nothing to the activities then', () => {
    const s = parseGenericConversionInput(base);
    expect(s).toMatchObject({ maxReplicaLagMs: 0, maxSlotRetainedWalBytes: 0 });
    expect(scanThrottle(s)).toEqual({});
  });

  it('take non-negative integers and carry them in every activity input', () => {
    const s = parseGenericConversionInput({ ...base, copy: { maxReplicaLagMs: 5000, maxSlotRetainedWalBytes: 1 << 30 } });
    expect(s).toMatchObject({ maxReplicaLagMs: 5000, maxSlotRetainedWalBytes: 1 << 30 });
    expect(scanThrottle(s)).toEqual({ throttle: { maxReplicaLagMs: 5000, maxSlotRetainedWalBytes: 1 << 30 } });
    expect(scanThrottle(parseGenericConversionInput({ ...base, copy: { maxSlotRetainedWalBytes: 1 } }))).toEqual({ throttle: { maxReplicaLagMs: 0, maxSlotRetainedWalBytes: 1 } });
  });

  it('refuse what the memory_records form refuses, with the same error naming the field', () => {
    for (const copy of [{ maxReplicaLagMs: -1 }, { maxReplicaLagMs: 86_400_001 }, { maxReplicaLagMs: '5s' }, { maxSlotRetainedWalBytes: 1.5 }, { maxSlotRetainedWalBytes: -5 }]) {
      const generic = message(() => parseGenericConversionInput({ ...base, copy }));
      expect(generic).toMatch(/^copy\.max(ReplicaLagMs|SlotRetainedWalBytes): /);
      expect(generic).toBe(message(() => parseConversionInput({ copy })));
    }
  });
});
