import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One line of the results: our figure beside the reference it could reach, same run, same data. */
export interface BenchEntry {
  name: string;
  ours: number;
  reference: number;
  ratio: number;
  unit: string;
  rows: number | string;
  /**
   * The size this entry was measured at (B1, B2, B3 and their b-variants: one entry per figure
   * and size, each against its limit at that size); absent for figures with sizes of their own.
   */
  size?: number;
  /** The goal from issue 7, as text ("≥ 0.7"). */
  target: string;
  /** Whether `ratio` (and any other stated bound) meets the target. */
  met: boolean;
  notes: string;
  /** Extra figures (per-mode latencies, failed writes…), machine-readable. */
  details?: Record<string, unknown>;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  postgres: string;
  date: string;
}

export interface BenchResults {
  machine: Machine;
  quick: boolean;
  options: Record<string, unknown>;
  entries: BenchEntry[];
  /** Entries that could not run here, and why (never a figure). */
  skipped: { name: string; why: string }[];
  /** How each figure measured at more than one size grows with it (growthOf(entries)). */
  growth?: Growth[];
  /** Seconds each step of the run took (a step at one size), in the order run. */
  steps?: { step: string; seconds: number }[];
}

/** One size of a figure: ours and the limit at that size, as rates and as time per row. */
export interface GrowthPoint {
  size: number;
  rows: number;
  ours: number;
  reference: number;
  ratio: number;
  oursUsPerRow: number;
  referenceUsPerRow: number;
}

export type Scaling = 'sub-linear' | 'linear' | 'super-linear';

/**
 * A figure at several sizes. Time to process n rows grows as n^k between the smallest and the
 * largest size: k = 1 + ln(rate_small / rate_large) / ln(n_large / n_small) (k = 1: the rate holds;
 * k < 1: fixed costs amortise, the rate rises with size; k > 1: the rate falls).
 */
export interface Growth {
  name: string;
  unit: string;
  points: GrowthPoint[];
  oursExponent: number;
  referenceExponent: number;
  ours: Scaling;
  reference: Scaling;
  /** ratio at the largest size / ratio at the smallest. */
  ratioChange: number;
  summary: string;
}

/** Within ±0.1 of 1 a time exponent reads as linear (run-to-run noise on a shared machine is that large). */
export const LINEAR_BAND = 0.1;

export function scaling(k: number): Scaling {
  return k < 1 - LINEAR_BAND ? 'sub-linear' : k > 1 + LINEAR_BAND ? 'super-linear' : 'linear';
}

/** The time exponent k of a rate measured at two sizes (see Growth). */
export function timeExponent(n1: number, rate1: number, n2: number, rate2: number): number {
  if (!(n1 > 0 && n2 > n1 && rate1 > 0 && rate2 > 0)) return Number.NaN;
  return Math.round((1 + Math.log(rate1 / rate2) / Math.log(n2 / n1)) * 100) / 100;
}

const usPerRow = (rate: number) => (rate > 0 ? Math.round((1e6 / rate) * 100) / 100 : Number.POSITIVE_INFINITY);

/** Every rows/s figure measured at two or more sizes in this run, smallest to largest. */
export function growthOf(entries: BenchEntry[]): Growth[] {
  const by = new Map<string, BenchEntry[]>();
  for (const e of entries) {
    if (e.size === undefined || e.unit !== 'rows/s') continue;
    by.set(e.name, [...(by.get(e.name) ?? []), e]);
  }
  const out: Growth[] = [];
  for (const [name, list] of by) {
    const points = [...list]
      .sort((a, b) => a.size! - b.size!)
      .map((e): GrowthPoint => ({
        size: e.size!,
        rows: typeof e.rows === 'number' ? e.rows : e.size!,
        ours: e.ours,
        reference: e.reference,
        ratio: e.ratio,
        oursUsPerRow: usPerRow(e.ours),
        referenceUsPerRow: usPerRow(e.reference),
      }));
    if (new Set(points.map((p) => p.size)).size < 2) continue;
    const a = points[0];
    const b = points[points.length - 1];
    const oursK = timeExponent(a.rows, a.ours, b.rows, b.ours);
    const refK = timeExponent(a.rows, a.reference, b.rows, b.reference);
    const ratioChange = a.ratio > 0 && Number.isFinite(a.ratio) ? Math.round((b.ratio / a.ratio) * 1000) / 1000 : Number.NaN;
    const x = (n: number) => `× ${fmt(n)}`;
    const summary =
      `rows ${x(b.rows / a.rows)}: ours ${points.map((p) => fmt(p.ours)).join(' → ')} rows/s, time ${x((b.rows / b.ours) / (a.rows / a.ours))} (n^${oursK}, ${scaling(oursK)}); ` +
      `limit ${points.map((p) => fmt(p.reference)).join(' → ')} rows/s, time ${x((b.rows / b.reference) / (a.rows / a.reference))} (n^${refK}, ${scaling(refK)}); ` +
      `ratio ${points.map((p) => fmt(p.ratio)).join(' → ')}${Number.isFinite(ratioChange) ? ` (${ratioChange >= 1 ? '+' : '−'}${fmt(Math.abs(ratioChange - 1) * 100)}%)` : ''}.`;
    out.push({ name, unit: 'rows/s', points, oursExponent: oursK, referenceExponent: refK, ours: scaling(oursK), reference: scaling(refK), ratioChange, summary });
  }
  return out;
}

export function machineInfo(postgres: string): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres,
    date: new Date().toISOString(),
  };
}

/** Rounds for display: 3 significant digits, no exponent. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n === 0) return '0';
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  return String(Number(n.toPrecision(3)));
}

export function ratio(a: number, b: number): number {
  return b > 0 ? Math.round((a / b) * 1000) / 1000 : Number.POSITIVE_INFINITY;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The entries with each figure's sizes side by side (in the order the figures first appear). */
export function grouped(entries: BenchEntry[]): BenchEntry[] {
  const first = new Map<string, number>();
  entries.forEach((e, i) => first.has(e.name) || first.set(e.name, i));
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => first.get(a.e.name)! - first.get(b.e.name)! || (a.e.size ?? 0) - (b.e.size ?? 0) || a.i - b.i)
    .map((x) => x.e);
}

const arrow = (xs: number[]) => xs.map(fmt).join(' → ');

/** The growth table: per figure, both sizes' rates, time per row, ratio and the time exponent. */
export function growthTable(growth: Growth[]): string[] {
  if (growth.length === 0) return [];
  return [
    '| figure | rows | ours rows/s | limit rows/s | ratio | ours µs/row | limit µs/row | ours time grows | limit time grows |',
    '|---|---:|---:|---:|---:|---:|---:|---|---|',
    ...growth.map((g) =>
      `| ${cell(g.name.replace(/ rows\/s$/, ''))} | ${arrow(g.points.map((p) => p.rows))} | ${arrow(g.points.map((p) => p.ours))} | ${arrow(g.points.map((p) => p.reference))} | ` +
        `${arrow(g.points.map((p) => p.ratio))} | ${arrow(g.points.map((p) => p.oursUsPerRow))} | ${arrow(g.points.map((p) => p.referenceUsPerRow))} | ` +
        `n^${g.oursExponent} (${g.ours}) | n^${g.referenceExponent} (${g.reference}) |`,
    ),
  ];
}

function growthSection(r: BenchResults, heading: string): string[] {
  const g = r.growth ?? growthOf(r.entries);
  if (g.length === 0) return [];
  return [
    '',
    heading,
    '',
    `Each size against its limit measured at that same size in this run; time for n rows grows as n^k between the smallest and largest size (k within ${1 - LINEAR_BAND}–${1 + LINEAR_BAND}: linear; below: sub-linear, the rate rises with size; above: super-linear).`,
    '',
    ...growthTable(g),
  ];
}

function stepsLine(r: BenchResults): string[] {
  const total = typeof r.options.seconds === 'number' ? r.options.seconds : undefined;
  if (!r.steps?.length) return [];
  return ['', `Run time${total !== undefined ? ` ${fmt(total)} s` : ''}: ${r.steps.map((s) => `${s.step} ${fmt(s.seconds)} s`).join(', ')}.`];
}

export function toMarkdown(r: BenchResults): string {
  const m = r.machine;
  const lines = [
    `Benchmarks (${r.quick ? 'quick run' : 'full run'}, ${m.date.slice(0, 10)}): ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, Node ${m.node}, ${m.postgres}.`,
    '',
    '| name | ours | reference | ratio | unit | rows | target | notes |',
    '|---|---:|---:|---:|---|---:|---|---|',
    ...grouped(r.entries).map((e) =>
      `| ${cell(e.name)} | ${fmt(e.ours)} | ${fmt(e.reference)} | ${fmt(e.ratio)} | ${cell(e.unit)} | ${typeof e.rows === 'number' ? fmt(e.rows) : cell(e.rows)} | ${cell(e.target)} ${e.met ? '✅' : '❌'} | ${cell(e.notes)} |`,
    ),
  ];
  lines.push(...growthSection(r, '## How each figure grows with size'));
  if (r.skipped.length) {
    lines.push('', 'Not measured on this machine:', ...r.skipped.map((s) => `- ${s.name}: ${s.why}`));
  }
  lines.push(...stepsLine(r));
  return lines.join('\n') + '\n';
}

export const README_START = '<!-- bench:start (written by npm run bench from bench/results/latest.json) -->';
export const README_END = '<!-- bench:end -->';

/** The README's table: the same figures as latest.json, without the long notes. */
export function toReadmeTable(r: BenchResults): string {
  const m = r.machine;
  return [
    `${r.quick ? 'Quick run' : 'Full run'} of ${m.date.slice(0, 10)} on ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, Node ${m.node}, ${m.postgres}; why each missed target is missed and what would close it: \`bench/results/latest.md\`.`,
    '',
    '| name | ours | reference | ratio | unit | rows | target |',
    '|---|---:|---:|---:|---|---:|---|',
    ...grouped(r.entries).map((e) => `| ${cell(e.name)} | ${fmt(e.ours)} | ${fmt(e.reference)} | ${fmt(e.ratio)} | ${cell(e.unit)} | ${typeof e.rows === 'number' ? fmt(e.rows) : cell(e.rows)} | ${cell(e.target)} ${e.met ? '✅' : '❌'} |`),
    ...growthSection(r, 'How each figure grows with size:'),
    ...stepsLine(r),
  ].join('\n');
}

/** Replaces the table between the README's bench markers (left alone when they are absent). */
export function updateReadme(readme: string, r: BenchResults): boolean {
  if (!fs.existsSync(readme)) return false;
  const text = fs.readFileSync(readme, 'utf8');
  const a = text.indexOf(README_START);
  const b = text.indexOf(README_END);
  if (a < 0 || b < a) return false;
  fs.writeFileSync(readme, `${text.slice(0, a + README_START.length)}\n${toReadmeTable(r)}\n${text.slice(b)}`);
  return true;
}

/** The headings toMarkdown writes itself; any other `## ` section of latest.md was written by hand. */
const GENERATED_HEADINGS = ['## How each figure grows with size'];

/** The hand-written sections of an old latest.md (from its first `## ` heading the bench does not write), or ''. */
export function handWrittenSections(md: string): string {
  const re = /^## .*$/gm;
  for (let m = re.exec(md); m; m = re.exec(md)) {
    if (!GENERATED_HEADINGS.includes(m[0].trim())) return md.slice(m.index).replace(/\s*$/, '\n');
  }
  return '';
}

/**
 * Writes latest.json and latest.md (through a temporary file each, so a crash leaves the old ones).
 * Sections added to latest.md by hand (a `## ` heading of its own, after the generated part) are
 * carried over below the new figures.
 */
export function writeResults(dir: string, r: BenchResults): { json: string; md: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'latest.json');
  const md = path.join(dir, 'latest.md');
  const kept = fs.existsSync(md) ? handWrittenSections(fs.readFileSync(md, 'utf8')) : '';
  fs.writeFileSync(`${json}.tmp`, JSON.stringify(r, null, 2) + '\n');
  fs.renameSync(`${json}.tmp`, json);
  fs.writeFileSync(`${md}.tmp`, toMarkdown(r) + (kept ? `\n${kept}` : ''));
  fs.renameSync(`${md}.tmp`, md);
  return { json, md };
}
