import { describe, expect, it } from 'vitest';
import { exportSlabs, type Slab } from '../../activities/production/export-slabs';
import { copyLine, trailerLine } from '../../src/memory-layer/copy-text';
import type { MemoryRecord } from '../../src/memory-layer/record';

function rec(i: number, content: string): MemoryRecord {
  const t = new Date(Date.UTC(2026, 0, 1, 0, 0, i));
  return { id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, ownerId: 'o', agentId: i % 2 ? null : 'a', kind: 'note', content, metadata: { i }, createdAt: t, updatedAt: t };
}

async function* pieces(bytes: Buffer, sizes: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let k = 0; at < bytes.length; k++) {
    const n = sizes[k % sizes.length];
    yield new Uint8Array(bytes.subarray(at, at + n));
    at += n;
  }
}

async function collect(it: AsyncIterable<Slab>): Promise<Slab[]> {
  const out: Slab[] = [];
  for await (const s of it) out.push(s);
  return out;
}

// Hostile values: every escaped byte, multi-byte UTF-8, a value that looks like the trailer.
const records = [rec(1, 'tab\there'), rec(2, 'line\nbreak\r\n'), rec(3, 'back\\slash \\. \\N'), rec(4, 'ünïcödé 🦎 €'), rec(5, '\\.\tend'), rec(6, ''), rec(7, 'x'.repeat(3000))];
const body = Buffer.from(records.map(copyLine).join('') + trailerLine(false));

describe('exportSlabs: cutting the COPY text export stream into slabs', () => {
  it('gives back every line byte for byte, whatever the chunk boundaries, with each slab’s last cursor', async () => {
    for (const sizes of [[1], [2, 3], [7], [64], [body.length], [5, 1, 4000]]) {
      const slabs = await collect(exportSlabs(pieces(body, sizes), 3));
      expect(slabs.map((s) => s.rows)).toEqual([3, 3, 1]);
      expect(Buffer.concat(slabs.flatMap((s) => s.lines)).toString('utf8')).toBe(records.map(copyLine).join(''));
      expect(slabs.map((s) => s.last?.id)).toEqual([records[2].id, records[5].id, records[6].id]);
      expect(slabs[1].last?.createdAt).toBe(records[5].createdAt.toISOString());
      expect(slabs.map((s) => s.trailer)).toEqual([undefined, undefined, 'end']);
    }
  });

  it('reports "more" when the limit cut the range, and an empty final slab when the rows fill the last one', async () => {
    const exact = Buffer.from(records.slice(0, 3).map(copyLine).join('') + trailerLine(true));
    const slabs = await collect(exportSlabs(pieces(exact, [10]), 3));
    expect(slabs.map((s) => [s.rows, s.trailer])).toEqual([[3, undefined], [0, 'more']]);
  });

  it('throws when the stream ends without its trailer (the app died mid-stream), even on a line boundary', async () => {
    const cut = Buffer.from(records.slice(0, 4).map(copyLine).join(''));
    await expect(collect(exportSlabs(pieces(cut, [9]), 2))).rejects.toThrow(/cut short/);
    await expect(collect(exportSlabs(pieces(cut.subarray(0, cut.length - 5), [9]), 10))).rejects.toThrow(/cut short/);
  });

  it('throws on bytes after the trailer or an unknown trailer', async () => {
    await expect(collect(exportSlabs(pieces(Buffer.concat([body, Buffer.from(copyLine(rec(9, 'late')))]), [body.length + 400]), 3))).rejects.toThrow(/unexpected line/);
    await expect(collect(exportSlabs(pieces(Buffer.from('\\.\tmaybe\n'), [100]), 3))).rejects.toThrow(/unknown trailer/);
  });
});
