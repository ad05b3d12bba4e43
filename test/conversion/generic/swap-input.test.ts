import { describe, expect, it } from 'vitest';
import { parseGenericConversionInput } from '../../../workflows/conversion/generic-input';
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

describe('heapToPartitionedConversion input for any table: the swap\'s lock retries (as the memory_records form)', () => {
  it('default to memory_records\' defaults: 200 ms, 10 tries, backoff 100 ms to 5 s', () => {
    const s = parseGenericConversionInput(base);
    expect({ lockTimeoutMs: s.lockTimeoutMs, ...s.swapRetry }).toEqual(parseConversionInput({}).lock);
    expect(s.swapRetry).toEqual({ maxTries: 10, backoffMs: 100, maxBackoffMs: 5000 });
  });

  it('take maxTries, backoffMs and maxBackoffMs as the memory_records form does', () => {
    const swap = { lockTimeoutMs: 50, maxTries: 3, backoffMs: 20, maxBackoffMs: 40 };
    const s = parseGenericConversionInput({ ...base, swap });
    expect({ lockTimeoutMs: s.lockTimeoutMs, ...s.swapRetry }).toEqual(swap);
    expect(parseConversionInput({ swap }).lock).toEqual(swap);
  });

  it('refuse what the memory_records form refuses, with the same error naming the field', () => {
    const bad = [
      { maxTries: 0 }, { maxTries: 101 }, { maxTries: 2.5 }, { maxTries: '3' },
      { backoffMs: 0 }, { backoffMs: 60_001 }, { maxBackoffMs: 300_001 }, { backoffMs: 5000, maxBackoffMs: 10 },
      { lockTimeoutMs: 5 }, { retries: 3 },
    ];
    for (const swap of bad) {
      const generic = message(() => parseGenericConversionInput({ ...base, swap }));
      expect(generic).toMatch(/^swap\.(maxTries|backoffMs|maxBackoffMs|lockTimeoutMs|retries): /);
      expect(generic).toBe(message(() => parseConversionInput({ swap })));
    }
    expect(message(() => parseGenericConversionInput({ ...base, swap: { maxTries: 101 } }))).toMatch(/^swap\.maxTries: .*100/);
  });
});
