import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSONObject, type History } from '../../src/audit/history-json';

export const HISTORIES_DIR = path.resolve(__dirname, '../fixtures/histories');

export interface HistoryFixture {
  name: string;
  workflowId: string;
  history: History;
}

/** Every committed history fixture (written by `npm run fixtures:histories`). */
export function loadHistoryFixtures(): HistoryFixture[] {
  return fs
    .readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const j = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, f), 'utf8')) as { workflowId: string; history: unknown };
      return { name: f.replace(/\.json$/, ''), workflowId: j.workflowId, history: historyFromJSONObject(j.history) };
    });
}

export function loadHistoryFixture(name: string): HistoryFixture {
  const f = loadHistoryFixtures().find((x) => x.name === name);
  if (!f) throw new Error(`no history fixture ${name} in ${HISTORIES_DIR}; run npm run fixtures:histories`);
  return f;
}

/** The `patched()` ids a fixture's history recorded (core_patch markers), read from its JSON. */
export function patchIdsOf(name: string): string[] {
  const j = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, `${name}.json`), 'utf8')) as {
    history: { events: { markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: { data?: string }[] }> } }[] };
  };
  const ids: string[] = [];
  for (const e of j.history.events) {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_patch') continue;
    for (const p of m.details?.['patch-data']?.payloads ?? []) {
      if (p.data) ids.push((JSON.parse(Buffer.from(p.data, 'base64').toString('utf8')) as { id: string }).id);
    }
  }
  return ids;
}
