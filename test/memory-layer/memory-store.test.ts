import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/memory-layer/storage/memory-store';
import { checksumOf } from '../../src/memory-layer/checksum';
import type { MemoryRecord } from '../../src/memory-layer/record';

function rec(t: number, over: Partial<MemoryRecord> = {}): MemoryRecord {
  return {
    id: crypto.randomUUID(), ownerId: `o${t % 3}`, agentId: null, kind: 'note', content: `c${t}`, metadata: { t },
    createdAt: new Date(t), updatedAt: new Date(t + 1), ...over,
  };
}

describe('memory store checksums (values kept with each record)', () => {
  it('equal checksum.ts over the live records of any range, through updates, stale puts and deletes', async () => {
    const store = new MemoryStore();
    const base = Date.UTC(2026, 0, 1);
    const day = 86_400_000;
    const live = new Map<string, MemoryRecord>();
    for (let i = 0; i < 400; i++) {
      const r = rec(base + (i % 90) * day + i);
      await store.put(r);
      live.set(r.id, r);
    }
    const ids = [...live.keys()];
    for (const id of ids.slice(0, 80)) {
      const cur = live.get(id)!;
      const next = { ...cur, content: `${cur.content}!`, updatedAt: new Date(cur.updatedAt.getTime() + 5) };
      expect(await store.put(next)).toBe('written');
      expect(await store.put(cur)).toBe('stale'); // an older version changes nothing
      live.set(id, next);
    }
    for (const id of ids.slice(80, 140)) {
      await store.delete(id, new Date());
      live.delete(id);
    }
    const within = (from?: number, to?: number) =>
      [...live.values()].filter((r) => (from === undefined || r.createdAt.getTime() >= from) && (to === undefined || r.createdAt.getTime() < to));
    expect(store.checksum()).toEqual(checksumOf(within()));
    for (const [from, to] of [[base, base + 31 * day], [base + 31 * day, base + 59 * day], [base + 59 * day, base + 400 * day], [base - day, base]]) {
      expect(store.checksum({ from: new Date(from), to: new Date(to) })).toEqual(checksumOf(within(from, to)));
    }
    expect(store.checksum({ from: new Date(base + 10 * day), to: new Date(base + 5 * day) })).toEqual({ count: 0, sum: '0' });
  });
});

describe('memory store quarantine (records Postgres cannot store)', () => {
  it('keeps and serves them, but leaves them out of every admin view a cutover reads, and lists them', async () => {
    const store = new MemoryStore();
    const base = Date.UTC(2026, 0, 1);
    const good = Array.from({ length: 50 }, (_, i) => rec(base + i * 1000));
    for (const r of good) await store.put(r);
    const nul = rec(base + 10_500, { content: 'a\u0000b' });
    const surrogate = rec(base + 49_500, { metadata: { note: 'x\uD800y' } }); // the newest but one
    const lastBad = rec(base + 99_000, { kind: 'k\u0000' }); // after every good one
    for (const r of [nul, surrogate, lastBad]) await store.put(r);
    expect(await store.get(nul.id)).toMatchObject({ content: 'a\u0000b' }); // served as before

    // Export pages step over them, whatever the page size, and end where the good records end.
    for (const limit of [1, 7, 50, 1000]) {
      const seen: string[] = [];
      let after = null;
      for (let page = store.exportPage(null, limit); ; page = store.exportPage(after, limit)) {
        seen.push(...page.records.map((r) => r.id));
        if (!page.nextCursor) break;
        after = page.nextCursor;
      }
      expect(seen).toEqual(good.map((r) => r.id));
    }
    expect(store.checksum()).toEqual(checksumOf(good));
    expect(store.newest(3).map((r) => r.id)).toEqual([good[49].id, good[48].id, good[47].id]);
    expect(store.stats().count).toBe(50);
    expect(store.quarantined()).toEqual({
      total: 3,
      records: [
        { id: nul.id, createdAt: nul.createdAt.toISOString(), updatedAt: nul.updatedAt.toISOString(), field: 'content', reason: expect.stringMatching(/content contains a NUL character/) },
        { id: surrogate.id, createdAt: surrogate.createdAt.toISOString(), updatedAt: surrogate.updatedAt.toISOString(), field: 'metadata.note', reason: expect.stringMatching(/lone UTF-16 surrogate/) },
        { id: lastBad.id, createdAt: lastBad.createdAt.toISOString(), updatedAt: lastBad.updatedAt.toISOString(), field: 'kind', reason: expect.stringMatching(/NUL/) },
      ],
    });
    // Fixed by an update, a record leaves the quarantine; deleted, too.
    await store.put({ ...nul, content: 'ab', updatedAt: new Date(nul.updatedAt.getTime() + 1) });
    await store.delete(lastBad.id, new Date());
    expect(store.quarantined().records.map((q) => q.id)).toEqual([surrogate.id]);
    expect(store.checksum().count).toBe(51);
  });
});
