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
