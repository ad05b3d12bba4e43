import { describe, expect, it } from 'vitest';
import { asConversionSummary } from '../../../workflows/conversion/one-engine';
import { summaryLines } from '../../../workflows/conversion/run';
import type { GenericConversionSummary } from '../../../workflows/conversion/generic';
import type { ConversionSettings } from '../../../workflows/conversion-input';
import type { DataFacts } from '../../../activities/conversion/plan/facts';

/** memory_records' run summary (the run's details in the Web UI) from the one engine's, with the plan's facts as given. */
function heapLine(facts: DataFacts): string | undefined {
  const g = { plan: { facts, size: { tableBytes: 8192 } } } as unknown as GenericConversionSummary;
  const s = asConversionSummary(g, { sync: 'trigger' } as unknown as ConversionSettings);
  return summaryLines(s).find((l) => l.startsWith('Heap:'));
}

describe('an estimated row count reads as an estimate where a person reads it', () => {
  const facts: DataFacts = { rows: 1234567, nulls: 0, outside: 0, outsideAbove: 0, minDay: null, maxDay: null, min: null, max: null };
  it('the run summary\'s heap line: counted rows as before, the planner\'s estimate marked', () => {
    expect(heapLine(facts)).toBe('Heap: 1234567 rows, 8 KiB, 0 months');
    expect(heapLine({ ...facts, rowsEstimated: true })).toBe('Heap: ≈ 1,234,567 rows (estimate), 8 KiB, 0 months');
  });
});
