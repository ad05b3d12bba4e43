import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { OpLog, OpLogError } from '../../src/loadgen/oplog';
import { checkOracle, formatVerdict, postgresReader, verdictPasses } from '../../src/loadgen/oracle';
import { useTestDatabase } from '../helpers/db';

const db = useTestDatabase('partitioned');
const INSTANCE = 'http://instance-a';

/** Millisecond timestamps around "a minute ago"; offsets order the versions. */
const base = Date.now() - 60_000;
const at = (offsetMs: number) => new Date(base + offsetMs).toISOString();

// The migration pre-creates the current and next months; near a month boundary "a day ago" is
// in the previous one.
beforeAll(async () => {
  await db.pool.query(`SELECT create_monthly_partition((now() - interval '1 month')::date)`);
});

interface Row {
  id: string;
  ownerId: string;
  kind?: string;
  content: string;
  createdAt: string;
  updatedAt: string;
}

async function insert(rows: Row[]): Promise<void> {
  for (const r of rows) {
    await db.pool.query(
      `INSERT INTO memory_records (id, owner_id, kind, content, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [r.id, r.ownerId, r.kind ?? 'note', r.content, r.createdAt, r.updatedAt],
    );
  }
}

/** Builds log entries the way the generator does, through the log's own acknowledgement API. */
function created(log: OpLog, ownerId: string, content: string, createdAt = at(0)) {
  const id = crypto.randomUUID();
  log.ackCreate({ id, ownerId, createdAt, updatedAt: createdAt, content, kind: 'note' }, INSTANCE);
  return id;
}
function updated(log: OpLog, id: string, content: string, updatedAt: string) {
  const e = log.get(id)!;
  log.ackUpdate({ id, ownerId: e.ownerId, createdAt: e.createdAt, updatedAt, content, kind: 'note' }, INSTANCE);
}

describe('oracle against a real memory_records table', () => {
  it('finds nothing wrong in a faithful store, accepting either outcome of unanswered requests', async () => {
    const owner = `faithful-${crypto.randomUUID().slice(0, 6)}`;
    const log = new OpLog();
    const live = created(log, owner, 'live v1');
    const twice = created(log, owner, 'twice v1');
    updated(log, twice, 'twice v2', at(10));
    updated(log, twice, 'twice v3', at(20));
    const gone = created(log, owner, 'gone v1');
    log.ackDelete(gone, INSTANCE);
    const landedUpdate = created(log, owner, 'landed v1');
    log.failUpdate(landedUpdate, { content: 'landed v2', kind: 'fact' }, '500', 'maybe');
    const landedDelete = created(log, owner, 'landed-delete v1');
    log.failDelete(landedDelete, 'timeout', 'maybe');
    const lostUpdate = created(log, owner, 'lost-update v1');
    log.failUpdate(lostUpdate, { content: 'lost-update v2', kind: 'note' }, '503', 'maybe');
    const refused = created(log, owner, 'refused v1');
    log.failUpdate(refused, { content: 'refused v2', kind: 'note' }, '400', 'no');
    const neverCreated = crypto.randomUUID();
    log.failCreate({ id: neverCreated, ownerId: owner, instance: INSTANCE, content: 'x', kind: 'note', createdAt: at(0), status: 'network' }, 'maybe');
    const createdAnyway = crypto.randomUUID();
    log.failCreate({ id: createdAnyway, ownerId: owner, instance: INSTANCE, content: 'y', kind: 'note', createdAt: at(0), status: '500' }, 'maybe');

    await insert([
      { id: live, ownerId: owner, content: 'live v1', createdAt: at(0), updatedAt: at(0) },
      { id: twice, ownerId: owner, content: 'twice v3', createdAt: at(0), updatedAt: at(20) },
      { id: landedUpdate, ownerId: owner, kind: 'fact', content: 'landed v2', createdAt: at(0), updatedAt: at(30) },
      { id: lostUpdate, ownerId: owner, content: 'lost-update v1', createdAt: at(0), updatedAt: at(0) },
      { id: refused, ownerId: owner, content: 'refused v1', createdAt: at(0), updatedAt: at(0) },
      { id: createdAnyway, ownerId: owner, content: 'y', createdAt: at(0), updatedAt: at(5) },
      // Another owner's record is none of this log's business.
      { id: crypto.randomUUID(), ownerId: `someone-else-${owner}`, content: 'z', createdAt: at(0), updatedAt: at(0) },
    ]);

    const reader = postgresReader({ connectionString: db.url }, 'public.memory_records');
    const verdict = await checkOracle(log, reader);
    await reader.close();
    expect(verdict).toEqual({
      checked: 9,
      missing: 0,
      stale: 0,
      resurrected: 0,
      extra: 0,
      uncertain: 5, // landedUpdate, landedDelete, lostUpdate, neverCreated, createdAnyway
      samples: { missing: [], stale: [], resurrected: [], extra: [] },
    });
    expect(verdictPasses(verdict)).toBe(true);
    expect(formatVerdict(verdict)).toMatch(/^oracle PASS: checked 9 records: 0 missing, 0 stale, 0 resurrected, 0 extra/);
  });

  it('counts exactly one missing, one stale, one resurrected and one extra record', async () => {
    const owner = `planted-${crypto.randomUUID().slice(0, 6)}`;
    const log = new OpLog();
    const fine = created(log, owner, 'fine v1');
    updated(log, fine, 'fine v2', at(10));
    const missing = created(log, owner, 'missing v1');
    const stale = created(log, owner, 'stale v1');
    updated(log, stale, 'stale v2', at(10));
    const resurrected = created(log, owner, 'resurrected v1');
    log.ackDelete(resurrected, INSTANCE);
    const extra = crypto.randomUUID();

    await insert([
      { id: fine, ownerId: owner, content: 'fine v2', createdAt: at(0), updatedAt: at(10) },
      { id: stale, ownerId: owner, content: 'stale v1', createdAt: at(0), updatedAt: at(0) }, // an old version won
      { id: resurrected, ownerId: owner, content: 'resurrected v1', createdAt: at(0), updatedAt: at(0) },
      { id: extra, ownerId: owner, content: 'never acknowledged', createdAt: at(0), updatedAt: at(0) },
    ]);

    const reader = postgresReader(db.pool);
    const verdict = await checkOracle(log, reader);
    await reader.close(); // a pool passed in stays open
    expect(verdict).toEqual({
      checked: 4,
      missing: 1,
      stale: 1,
      resurrected: 1,
      extra: 1,
      uncertain: 0,
      samples: { missing: [missing], stale: [stale], resurrected: [resurrected], extra: [extra] },
    });
    expect(verdictPasses(verdict)).toBe(false);
    expect(formatVerdict(verdict)).toContain(`missing e.g. ${missing}`);
    await db.pool.query('SELECT 1'); // still usable
  });

  it('treats same-version different content, and an id stored twice, as stale', async () => {
    const owner = `versions-${crypto.randomUUID().slice(0, 6)}`;
    const log = new OpLog();
    const altered = created(log, owner, 'original');
    const doubled = created(log, owner, 'doubled');
    const newer = created(log, owner, 'unexplained newer v1');
    await insert([
      { id: altered, ownerId: owner, content: 'tampered', createdAt: at(0), updatedAt: at(0) },
      { id: doubled, ownerId: owner, content: 'doubled', createdAt: at(0), updatedAt: at(0) },
      // Same id under a second created_at: the partitioned PK (id, created_at) allows it.
      { id: doubled, ownerId: owner, content: 'doubled', createdAt: at(-86_400_000), updatedAt: at(0) },
      // A newer version no acknowledged or attempted write explains.
      { id: newer, ownerId: owner, content: 'from nowhere', createdAt: at(0), updatedAt: at(50) },
    ]);
    const reader = postgresReader(db.pool);
    const verdict = await checkOracle(log, reader);
    expect(verdict.stale).toBe(3);
    expect(new Set(verdict.samples.stale)).toEqual(new Set([altered, doubled, newer]));
    expect(verdict.missing + verdict.resurrected + verdict.extra).toBe(0);
  });

  it('gives the same verdict for a log saved as JSON and loaded back', async () => {
    const owner = `json-${crypto.randomUUID().slice(0, 6)}`;
    const log = new OpLog();
    const a = created(log, owner, 'a');
    const b = created(log, owner, 'b');
    log.ackDelete(b, INSTANCE);
    log.failUpdate(a, { content: 'a2', kind: 'note' }, 'timeout', 'maybe');
    await insert([{ id: a, ownerId: owner, content: 'a', createdAt: at(0), updatedAt: at(0) }]);

    const reloaded = OpLog.fromJSON(JSON.parse(JSON.stringify(log)));
    expect(reloaded.toJSON()).toEqual(log.toJSON());
    const reader = postgresReader(db.pool);
    expect(await checkOracle(reloaded, reader)).toEqual(await checkOracle(log, reader));
  });

  it('rejects a malformed saved log naming the field', () => {
    const good = new OpLog().toJSON();
    expect(() => OpLog.fromJSON({ ...good, version: 2 })).toThrow(/field "version" must be 1/);
    expect(() => OpLog.fromJSON({ ...good, records: [{ id: 'x' }] })).toThrow(/records\[0\]\.ownerId must be a string/);
    expect(() => OpLog.fromJSON({ ...good, acked: { create: -1, update: 0, delete: 0 } })).toThrow(/acked\.create/);
    expect(() => OpLog.fromJSON('nope')).toThrow(OpLogError);
  });

  it('refuses acknowledgements that break the per-record order', () => {
    const log = new OpLog();
    const id = created(log, 'o', 'v1', at(0));
    expect(() => updated(log, id, 'v0', at(0))).toThrow(/not after the previous/);
    log.ackDelete(id, INSTANCE);
    expect(() => updated(log, id, 'v2', at(10))).toThrow(/delete was already acknowledged/);
    expect(() => log.ackCreate({ id, ownerId: 'o', createdAt: at(0), updatedAt: at(0), content: 'x', kind: 'note' }, INSTANCE)).toThrow(/already holds/);
  });
});
