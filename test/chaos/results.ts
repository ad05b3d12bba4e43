import fs from 'node:fs';

/** One run of one chaos scenario, appended by the test as one JSON line. */
export interface ScenarioResult {
  scenario: string;
  passed: boolean;
  /** Records the oracle found missing, stale or resurrected (0 = nothing lost); null when the scenario has no data to lose. */
  dataLost: number | null;
  detail?: string;
}

export interface SummaryRow {
  scenario: string;
  runs: number;
  passed: number;
  dataLost: number | null;
}

export function appendResult(file: string, r: ScenarioResult): void {
  fs.appendFileSync(file, `${JSON.stringify(r)}\n`);
}

/** Groups runs by scenario, in the order they first ran. */
export function summarize(results: ScenarioResult[]): SummaryRow[] {
  const rows = new Map<string, SummaryRow>();
  for (const r of results) {
    const row = rows.get(r.scenario) ?? { scenario: r.scenario, runs: 0, passed: 0, dataLost: null };
    row.runs++;
    if (r.passed) row.passed++;
    if (r.dataLost !== null) row.dataLost = (row.dataLost ?? 0) + r.dataLost;
    rows.set(r.scenario, row);
  }
  return [...rows.values()];
}

export function markdownTable(rows: SummaryRow[]): string {
  const lines = ['| scenario | runs | passed | data lost |', '|---|---:|---:|---:|'];
  for (const r of rows) lines.push(`| ${r.scenario} | ${r.runs} | ${r.passed} | ${r.dataLost === null ? 'n/a' : `${r.dataLost} records`} |`);
  return lines.join('\n');
}
