import { describe, expect, it } from 'vitest';
import { carryOver, codeOf } from '../../bench/carry';
import type { BenchEntry, BenchResults } from '../../bench/report';

const e = (name: string, size?: number, notes = 'n'): BenchEntry => ({ name, ours: 2, reference: 4, ratio: 0.5, unit: 'rows/s', rows: size ?? 1, size, target: 't', met: false, notes });
const results = (date: string, entries: BenchEntry[]): BenchResults => ({
  machine: { cpus: 2, cpuModel: 'x', memGiB: 1, node: 'v20', postgres: 'PostgreSQL 18.4', date },
  quick: false, options: {}, entries, skipped: [],
});

describe('carrying the figures a --only run did not measure (bench/carry.ts)', () => {
  it('codeOf: B2b and B3b belong to the B2 step, B8/B9 entries to theirs', () => {
    expect(codeOf('B2b heap→partitioned copy vs pg_partman partition_data_proc rows/s')).toBe('B2');
    expect(codeOf('B3b conversion parity (heap↔shadow) rows/s')).toBe('B2');
    expect(codeOf('B3 parity verification rows/s')).toBe('B3');
    expect(codeOf('B8 instant conversion WAL vs copy mode MB')).toBe('B8');
    expect(codeOf('B9 sync trigger cost (app write p99 ms)')).toBe('B9');
    expect(codeOf('something else')).toBeUndefined();
  });

  it('keeps the previous entries of unmeasured codes, marked with their run; replaces those of measured codes; recomputes growth', () => {
    const prev = results('2026-12-02T22:00:00Z', [e('B1 backfill rows/s', 100_000), e('B1 backfill rows/s', 1_000_000), e('B2 copy rows/s', 100_000), e('B3b conversion parity rows/s', 100_000), e('B5 dual-write', undefined)]);
    const cur = results('2026-12-06T21:00:00Z', [e('B2 copy rows/s', 1_000_000, 'new')]);
    const out = carryOver(prev, cur, ['B2', 'B8', 'B9']);
    expect(out.entries.map((x) => `${x.name}@${x.size ?? '-'}`)).toEqual(['B2 copy rows/s@1000000', 'B1 backfill rows/s@100000', 'B1 backfill rows/s@1000000', 'B5 dual-write@-']);
    expect(out.entries[1].notes).toMatch(/^Carried from the run of 2026-12-02 \(full, PostgreSQL 18\.4; not re-measured in this one\)\. n$/);
    expect(out.entries[0].notes).toBe('new');
    expect(out.growth!.map((g) => g.name)).toEqual(['B1 backfill rows/s']);
    expect(out.machine.date).toBe('2026-12-06T21:00:00Z');
    // Carried again by a later partial run: marked once, with the run it was measured in.
    const again = carryOver(out, results('2026-12-07T10:00:00Z', []), ['B9']);
    expect(again.entries.filter((x) => x.name.startsWith('B1')).every((x) => x.notes.startsWith('Carried from the run of 2026-12-02'))).toBe(true);
    expect(again.entries.some((x) => x.notes.startsWith('Carried from the run of 2026-12-06'))).toBe(true); // B2, measured on the 6th
    expect(carryOver(undefined, cur, ['B2'])).toBe(cur);
  });
});
