import fs from 'node:fs';
import { growthOf, type BenchEntry, type BenchResults } from './report';

/** The bench code whose step measures an entry: B3b is measured by B2's step, every other by its own. */
export function codeOf(name: string): string | undefined {
  if (name.startsWith('B3b ')) return 'B2';
  return /^(B\d+)b? /.exec(name)?.[1];
}

/**
 * A run of some codes (--only) keeps the figures it did not measure: the previous results' entries
 * of every other code are carried, each saying from which run. Entries of a measured code are
 * replaced, never mixed; the growth table is recomputed from what is kept.
 */
export function carryOver(previous: BenchResults | undefined, current: BenchResults, measured: readonly string[]): BenchResults {
  if (!previous) return current;
  const when = previous.machine.date.slice(0, 10);
  const carried: BenchEntry[] = previous.entries
    .filter((e) => {
      const code = codeOf(e.name);
      return code !== undefined && !measured.includes(code) && !e.notes.startsWith('Carried from');
    })
    .map((e) => ({ ...e, notes: `Carried from the run of ${when} (${previous.quick ? 'quick' : 'full'}, ${previous.machine.postgres}; not re-measured in this one). ${e.notes}` }));
  const carriedFromEarlier = previous.entries.filter((e) => {
    const code = codeOf(e.name);
    return code !== undefined && !measured.includes(code) && e.notes.startsWith('Carried from');
  });
  const entries = [...current.entries, ...carriedFromEarlier, ...carried];
  return { ...current, entries, growth: growthOf(entries) };
}

export function readResults(file: string): BenchResults | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  } catch {
    return undefined;
  }
}
