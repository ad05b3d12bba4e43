import type { BenchEntry } from './report';

/**
 * Why a target was missed and what would close it, per benchmark. Written from profiling the
 * code paths (see the report in bench/README.md); appended to an entry's notes only when its
 * target is missed in this run.
 */
export function explain(e: BenchEntry): string {
  const code = e.name.slice(0, 3).trim();
  return MISSES[code] ?? MISSES[e.name.slice(0, 2)] ?? 'Target missed; see bench/README.md.';
}

const MISSES: Record<string, string> = {};
