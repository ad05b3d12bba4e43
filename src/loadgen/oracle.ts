import type { LoggedRecord, OpLog, UnacknowledgedCreate } from './oplog';
import type { StoreReader, StoredRecord } from './store-reader';

export { postgresReader } from './postgres-reader';
export { instancesReader } from './instances-reader';
export type { StoreReader, StoredRecord } from './store-reader';

/**
 * The oracle: judges a store against the log of acknowledged operations.
 *
 * - missing: an acknowledged, not deleted record is absent.
 * - stale: the record is present but not at its acknowledged version: an older updatedAt, the
 *   same updatedAt with different content/kind/owner/createdAt, a newer version that no request
 *   of the log explains, or the id stored twice.
 * - resurrected: an acknowledged delete, yet the record is present.
 * - extra (informational): a record of one of the log's owners whose id the log never saw.
 * - uncertain (informational): records whose last request got no answer (5xx, network error,
 *   timeout). The log keeps the attempt, the generator never touched the record again, so the
 *   store may hold either the acknowledged state or the attempted one; anything else still
 *   counts as missing/stale. A create that got no answer may or may not exist: that is uncertain,
 *   not extra.
 *
 * missing, stale and resurrected must be 0 for "nothing lost".
 */
export interface OracleVerdict {
  checked: number;
  missing: number;
  stale: number;
  resurrected: number;
  extra: number;
  uncertain: number;
  samples: { missing: string[]; stale: string[]; resurrected: string[]; extra: string[] };
}

export interface OracleOptions {
  /** Ids kept per category in `samples` (default 10). */
  sampleLimit?: number;
}

export async function checkOracle(log: OpLog, store: StoreReader, opts: OracleOptions = {}): Promise<OracleVerdict> {
  const sampleLimit = opts.sampleLimit ?? 10;
  const v: OracleVerdict = {
    checked: 0,
    missing: 0,
    stale: 0,
    resurrected: 0,
    extra: 0,
    uncertain: 0,
    samples: { missing: [], stale: [], resurrected: [], extra: [] },
  };
  const flag = (kind: 'missing' | 'stale' | 'resurrected' | 'extra', id: string) => {
    v[kind]++;
    if (v.samples[kind].length < sampleLimit) v.samples[kind].push(id);
  };

  const records = [...log.records()];
  const unackedCreates = [...log.unacknowledgedCreates()];
  const known = new Set<string>([...records.map((r) => r.id), ...unackedCreates.map((c) => c.id)]);

  const stored = new Map<string, StoredRecord[]>();
  for (const row of await store.readByIds([...known])) {
    const rows = stored.get(row.id);
    if (rows) rows.push(row);
    else stored.set(row.id, [row]);
  }

  for (const entry of records) {
    v.checked++;
    const outcome = judgeRecord(entry, stored.get(entry.id) ?? []);
    if (outcome === 'ok') {
      if (entry.unacknowledged) v.uncertain++;
    } else flag(outcome, entry.id);
  }
  for (const attempt of unackedCreates) {
    v.checked++;
    const outcome = judgeUnacknowledgedCreate(attempt, stored.get(attempt.id) ?? []);
    if (outcome === 'ok') v.uncertain++;
    else flag(outcome, attempt.id);
  }

  const owners = log.owners();
  if (owners.length > 0) {
    for (const id of new Set(await store.idsOfOwners(owners))) if (!known.has(id)) flag('extra', id);
  }
  return v;
}

type Judgement = 'ok' | 'missing' | 'stale' | 'resurrected';

const ms = (iso: string) => Date.parse(iso);

function sameVersion(row: StoredRecord, expected: { ownerId: string; createdAt: string | null; content: string; kind: string }): boolean {
  return (
    row.ownerId === expected.ownerId &&
    row.content === expected.content &&
    row.kind === expected.kind &&
    (expected.createdAt === null || ms(row.createdAt) === ms(expected.createdAt))
  );
}

export function judgeRecord(entry: LoggedRecord, rows: StoredRecord[]): Judgement {
  if (entry.deleted) return rows.length > 0 ? 'resurrected' : 'ok';
  if (rows.length === 0) return entry.unacknowledged?.op === 'delete' ? 'ok' : 'missing';
  if (rows.length > 1) return 'stale';
  const row = rows[0];
  const delta = ms(row.updatedAt) - ms(entry.updatedAt);
  if (delta === 0 && sameVersion(row, entry)) return 'ok';
  const attempt = entry.unacknowledged;
  if (delta > 0 && attempt?.op === 'update' && sameVersion(row, { ...entry, content: attempt.content, kind: attempt.kind })) return 'ok';
  return 'stale';
}

function judgeUnacknowledgedCreate(attempt: UnacknowledgedCreate, rows: StoredRecord[]): Judgement {
  if (rows.length === 0) return 'ok';
  if (rows.length > 1) return 'stale';
  return sameVersion(rows[0], attempt) ? 'ok' : 'stale';
}

/** missing, stale and resurrected are all zero. */
export function verdictPasses(v: OracleVerdict): boolean {
  return v.missing === 0 && v.stale === 0 && v.resurrected === 0;
}

/** One line for humans. */
export function formatVerdict(v: OracleVerdict): string {
  const head =
    `oracle ${verdictPasses(v) ? 'PASS' : 'FAIL'}: checked ${v.checked} records: ${v.missing} missing, ${v.stale} stale, ` +
    `${v.resurrected} resurrected, ${v.extra} extra (informational), ${v.uncertain} uncertain (unanswered requests)`;
  const examples = (['missing', 'stale', 'resurrected', 'extra'] as const)
    .filter((k) => v.samples[k].length > 0)
    .map((k) => `${k} e.g. ${v.samples[k].slice(0, 3).join(', ')}`);
  return examples.length ? `${head}; ${examples.join('; ')}` : head;
}
