import type { RunningPostgres } from '../src/devenv/postgres';
import type { BenchOptions } from './options';
import { ratio, type BenchEntry } from './report';
import { explain } from './notes';
import type { guardServers } from './guard';

export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/** What every step of the bench shares: the options, the embedded server, the entries so far. */
export interface Ctx {
  opts: BenchOptions;
  pg: RunningPostgres;
  entries: BenchEntry[];
  skipped: { name: string; why: string }[];
  /** Servers started after Postgres (B7's and B8's Temporal) are registered here, so they die with the bench. */
  guard: ReturnType<typeof guardServers>;
}

/** A figure measured at several sizes is skipped once, not once per size. */
export function skip(ctx: Ctx, name: string, why: string): void {
  if (!ctx.skipped.some((s) => s.name === name)) ctx.skipped.push({ name, why });
}

/** An entry with its ratio, whether it met its target and, for a miss, the recorded analysis (notes.ts). */
export function entry(e: Omit<BenchEntry, 'ratio' | 'met' | 'notes'> & { ratio?: number; met: (r: number) => boolean; notes: string[] }): BenchEntry {
  const r = e.ratio ?? ratio(e.ours, e.reference);
  const met = e.met(r);
  const full: BenchEntry = { ...e, ratio: r, met, notes: '' };
  full.notes = [...e.notes, ...(met ? [] : [explain(full)])].filter(Boolean).join(' ');
  log(`${e.name}${e.size !== undefined ? ` at ${e.size} rows` : ''}: ours ${e.ours} vs ${e.reference} ${e.unit} → ratio ${r} (target ${e.target}: ${met ? 'met' : 'MISSED'})`);
  return full;
}

export const round1 = (n: number) => Math.round(n * 10) / 10;
