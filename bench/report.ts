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

export function toMarkdown(r: BenchResults): string {
  const m = r.machine;
  const lines = [
    `Benchmarks (${r.quick ? 'quick run' : 'full run'}, ${m.date.slice(0, 10)}): ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, Node ${m.node}, ${m.postgres}.`,
    '',
    '| name | ours | reference | ratio | unit | rows | target | notes |',
    '|---|---:|---:|---:|---|---:|---|---|',
    ...r.entries.map((e) =>
      `| ${cell(e.name)} | ${fmt(e.ours)} | ${fmt(e.reference)} | ${fmt(e.ratio)} | ${cell(e.unit)} | ${typeof e.rows === 'number' ? fmt(e.rows) : cell(e.rows)} | ${cell(e.target)} ${e.met ? '✅' : '❌'} | ${cell(e.notes)} |`,
    ),
  ];
  if (r.skipped.length) {
    lines.push('', 'Not measured on this machine:', ...r.skipped.map((s) => `- ${s.name}: ${s.why}`));
  }
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
    ...r.entries.map((e) => `| ${cell(e.name)} | ${fmt(e.ours)} | ${fmt(e.reference)} | ${fmt(e.ratio)} | ${cell(e.unit)} | ${typeof e.rows === 'number' ? fmt(e.rows) : cell(e.rows)} | ${cell(e.target)} ${e.met ? '✅' : '❌'} |`),
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

/** Writes latest.json and latest.md (through a temporary file each, so a crash leaves the old ones). */
export function writeResults(dir: string, r: BenchResults): { json: string; md: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'latest.json');
  const md = path.join(dir, 'latest.md');
  fs.writeFileSync(`${json}.tmp`, JSON.stringify(r, null, 2) + '\n');
  fs.renameSync(`${json}.tmp`, json);
  fs.writeFileSync(`${md}.tmp`, toMarkdown(r));
  fs.renameSync(`${md}.tmp`, md);
  return { json, md };
}
