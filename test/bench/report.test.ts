import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  growthOf,
  grouped,
  handWrittenSections,
  scaling,
  timeExponent,
  toMarkdown,
  toReadmeTable,
  writeResults,
  type BenchEntry,
  type BenchResults,
} from '../../bench/report';

const entry = (name: string, size: number, ours: number, reference: number, extra: Partial<BenchEntry> = {}): BenchEntry => ({
  name,
  ours,
  reference,
  ratio: Math.round((ours / reference) * 1000) / 1000,
  unit: 'rows/s',
  rows: size,
  size,
  target: 'ratio ≥ 0.7',
  met: ours / reference >= 0.7,
  notes: `${name} at ${size}`,
  ...extra,
});

/** A synthetic two-size full run: entries in the order main.ts pushes them (size by size). */
function twoSizeRun(): BenchResults {
  const entries = [
    entry('B1 backfill memory→Postgres rows/s', 100_000, 10_000, 40_000),
    entry('B3 parity verification rows/s', 100_000, 300_000, 400_000),
    entry('B2 heap→partitioned copy rows/s', 100_000, 40_000, 60_000),
    entry('B1 backfill memory→Postgres rows/s', 1_000_000, 12_000, 40_000),
    entry('B3 parity verification rows/s', 1_000_000, 150_000, 380_000),
    entry('B2 heap→partitioned copy rows/s', 1_000_000, 40_000, 30_000),
    { ...entry('B4 swap write stall ms', 0, 7, 11), unit: 'ms', rows: '100000 / 1000000', size: undefined, target: 'stall ≤ 100 ms' },
  ];
  return {
    machine: { cpus: 2, cpuModel: 'Test CPU', memGiB: 8, node: 'v20.0.0', postgres: 'PostgreSQL 18.4', date: '2026-12-02T00:00:00.000Z' },
    quick: false,
    options: { rows: 200_000, sizes: [100_000, 1_000_000], seconds: 900 },
    entries,
    skipped: [{ name: 'B2b heap→partitioned copy vs pg_partman partition_data_proc rows/s', why: 'no pg_partman server' }],
    growth: growthOf(entries),
    steps: [{ step: 'B1/B3 at 100000', seconds: 40 }, { step: 'B1/B3 at 1000000', seconds: 400 }],
  };
}

describe('bench growth with size (bench/report.ts)', () => {
  it('the time exponent: a steady rate is linear, a rising rate sub-linear, a falling one super-linear', () => {
    expect(timeExponent(100_000, 10_000, 1_000_000, 10_000)).toBe(1);
    expect(timeExponent(100_000, 10_000, 1_000_000, 20_000)).toBe(0.7);
    expect(timeExponent(100_000, 10_000, 1_000_000, 5_000)).toBe(1.3);
    expect(Number.isNaN(timeExponent(100_000, 0, 1_000_000, 5_000))).toBe(true);
    expect([scaling(0.7), scaling(0.95), scaling(1), scaling(1.09), scaling(1.3)]).toEqual(['sub-linear', 'linear', 'linear', 'linear', 'super-linear']);
  });

  it('one growth row per rows/s figure measured at two sizes, smallest first, with µs/row and the ratio change', () => {
    const g = growthOf(twoSizeRun().entries);
    expect(g.map((x) => x.name)).toEqual(['B1 backfill memory→Postgres rows/s', 'B3 parity verification rows/s', 'B2 heap→partitioned copy rows/s']);
    const [b1, b3, b2] = g;
    expect(b1.points.map((p) => p.size)).toEqual([100_000, 1_000_000]);
    expect(b1.points.map((p) => p.oursUsPerRow)).toEqual([100, 83.33]);
    expect(b1.points.map((p) => p.referenceUsPerRow)).toEqual([25, 25]);
    expect(b1).toMatchObject({ ours: 'linear', reference: 'linear', referenceExponent: 1, ratioChange: 1.2 });
    expect(b1.oursExponent).toBeCloseTo(0.92, 2);
    expect(b3).toMatchObject({ ours: 'super-linear', reference: 'linear', oursExponent: 1.3 });
    expect(b2).toMatchObject({ ours: 'linear', reference: 'super-linear', oursExponent: 1, referenceExponent: 1.3 });
    expect(b1.summary).toMatch(/^rows × 10: ours 10,000 → 12,000 rows\/s, time × 8\.33 \(n\^0\.92, linear\); limit 40,000 → 40,000 rows\/s, time × 10 \(n\^1, linear\); ratio 0\.25 → 0\.3 \(\+20%\)\.$/);
    expect(b3.summary).toMatch(/ratio 0\.75 → 0\.395 \(−47\.3%\)/);
  });

  it('a figure at one size, or not in rows/s, has no growth row', () => {
    const one = [entry('B1 backfill memory→Postgres rows/s', 20_000, 10_000, 40_000)];
    expect(growthOf(one)).toEqual([]);
    expect(growthOf([...one, { ...entry('B4 swap write stall ms', 1, 7, 11), unit: 'ms' }, { ...entry('B4 swap write stall ms', 2, 7, 11), unit: 'ms' }])).toEqual([]);
    // Same size twice (a repeated entry) is not growth either.
    expect(growthOf([...one, ...one])).toEqual([]);
  });

  it('the tables show each figure at both sizes side by side, then how each grows; the JSON keeps one entry per figure and size', () => {
    const r = twoSizeRun();
    expect(grouped(r.entries).map((e) => `${e.name.split(' ')[0]}@${e.size ?? '-'}`)).toEqual([
      'B1@100000', 'B1@1000000', 'B3@100000', 'B3@1000000', 'B2@100000', 'B2@1000000', 'B4@-',
    ]);
    const md = toMarkdown(r);
    expect(md).toMatch(/^Benchmarks \(full run, 2026-12-02\)/);
    const rows = md.split('\n').filter((l) => l.startsWith('| B'));
    expect(rows.slice(0, 2).map((l) => l.split(' | ')[5])).toEqual(['100,000', '1,000,000']);
    expect(md).toContain('## How each figure grows with size');
    expect(md).toContain('| B1 backfill memory→Postgres | 100,000 → 1,000,000 | 10,000 → 12,000 | 40,000 → 40,000 | 0.25 → 0.3 | 100 → 83.3 | 25 → 25 | n^0.92 (linear) | n^1 (linear) |');
    expect(md).toContain('| B3 parity verification | 100,000 → 1,000,000 | 300,000 → 150,000 |');
    expect(md).toContain('n^1.3 (super-linear)');
    expect(md).toContain('Run time 900 s: B1/B3 at 100000 40 s, B1/B3 at 1000000 400 s.');
    expect(md).toContain('- B2b heap→partitioned copy vs pg_partman partition_data_proc rows/s: no pg_partman server');
    const readme = toReadmeTable(r);
    expect(readme).toMatch(/^Full run of 2026-12-02/);
    expect(readme).toContain('How each figure grows with size:');
    expect(readme).toContain('| B2 heap→partitioned copy | 100,000 → 1,000,000 | 40,000 → 40,000 | 60,000 → 30,000 | 0.667 → 1.33 |');
    expect(readme).not.toContain('B1 backfill memory→Postgres rows/s at 100000'); // notes stay out of the README

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-report-'));
    try {
      const out = writeResults(dir, r);
      const json = JSON.parse(fs.readFileSync(out.json, 'utf8')) as BenchResults;
      const b1 = json.entries.filter((e) => e.name.startsWith('B1 '));
      expect(b1.map((e) => e.size)).toEqual([100_000, 1_000_000]);
      expect(json.growth?.map((g) => g.points.length)).toEqual([2, 2, 2]);
      expect(json.options.sizes).toEqual([100_000, 1_000_000]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a one-size run (quick) has no growth section', () => {
    const r = twoSizeRun();
    const one: BenchResults = { ...r, quick: true, entries: r.entries.filter((e) => e.size !== 1_000_000), growth: undefined, steps: undefined };
    expect(toMarkdown(one)).not.toContain('grows with size');
    expect(toReadmeTable(one)).not.toContain('grows with size');
  });

  it('a new run keeps the sections written by hand below the figures of latest.md', () => {
    const r = twoSizeRun();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-report-'));
    try {
      const md = path.join(dir, 'latest.md');
      const hand = '## Issue 17 measurements (by hand)\n\nA paragraph.\n\n## Another\n\nMore.\n';
      fs.writeFileSync(md, `${toMarkdown(r)}\n${hand}`);
      expect(handWrittenSections(fs.readFileSync(md, 'utf8'))).toBe(hand);
      writeResults(dir, { ...r, quick: true });
      const text = fs.readFileSync(md, 'utf8');
      expect(text).toMatch(/^Benchmarks \(quick run/);
      expect(text.endsWith(`\n${hand}`)).toBe(true);
      expect(text.match(/## How each figure grows with size/g)).toHaveLength(1);
      expect(text.match(/## Issue 17/g)).toHaveLength(1);
      // Run again: still once.
      writeResults(dir, r);
      expect(fs.readFileSync(md, 'utf8').match(/## Issue 17/g)).toHaveLength(1);
      expect(handWrittenSections(toMarkdown(r))).toBe('');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
