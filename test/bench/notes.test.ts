import { describe, expect, it } from 'vitest';
import { explain } from '../../bench/notes';
import type { BenchEntry } from '../../bench/report';

const e = (name: string): BenchEntry => ({ name, ours: 1, reference: 1, ratio: 1, unit: 'ms', rows: 1, target: 't', met: false, notes: '' });

describe('the analysis of a missed target (bench/notes.ts)', () => {
  it('takes the most specific analysis: each B8 entry its own, B2b not B2, B3b not B3', () => {
    expect(explain(e('B8 instant conversion (mode attach) start→swap vs partition_data_proc ms'))).toMatch(/^MISSED: Why .*mode attach copies no row/);
    expect(explain(e('B8 instant conversion longest write stall ms'))).toMatch(/attachSwap/);
    expect(explain(e('B8 instant conversion WAL vs copy mode MB'))).toMatch(/WAL of mode attach/);
    expect(explain(e('B2b heap→partitioned copy vs pg_partman partition_data_proc rows/s'))).toMatch(/partition_data_proc moves one month per statement/);
    expect(explain(e('B2 heap→partitioned copy rows/s'))).toMatch(/copyGeneric/);
    expect(explain(e('B3b conversion parity (heap↔shadow) rows/s'))).toMatch(/genericParity/);
    expect(explain(e('B9 sync trigger cost (app write p99 ms)'))).toMatch(/forward sync trigger/);
    expect(explain(e('B10 unknown'))).toBe('MISSED: no analysis recorded for this entry yet.');
  });
});
