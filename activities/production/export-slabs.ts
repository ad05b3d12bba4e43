import type { RecordCursor } from '../../src/memory-layer/record';
import { cursorOfLine, TRAILER_PREFIX } from '../../src/memory-layer/copy-text';

/** Up to `slabRows` complete record lines of the export stream, as the bytes that arrived. */
export interface Slab {
  /** Slices of the received chunks, whole lines only, newline included: ready for COPY. */
  lines: Buffer[];
  rows: number;
  /** The (created_at, id) of the slab's last record (null for an empty slab). */
  last: RecordCursor | null;
  /** On the stream's final slab: whether the range has records after it ('more') or not ('end'). */
  trailer?: 'more' | 'end';
}

const NL = 0x0a;
const BACKSLASH = 0x5c;

/**
 * Cuts the export stream (copy-text.ts) into slabs of `slabRows` records without decoding it:
 * newlines are found in the raw bytes (a UTF-8 continuation byte is never 0x0a, and the format
 * escapes newlines inside values), so a slab is a list of slices of the received chunks. Only
 * the last line of a slab is decoded, for its cursor. The final slab carries the trailer; a
 * stream that ends without it was cut short and throws, so a truncated export is never taken
 * for the end of its range. A generator: the caller's pace is the stream's back-pressure.
 */
export async function* exportSlabs(body: AsyncIterable<Uint8Array>, slabRows: number): AsyncGenerator<Slab> {
  let lines: Buffer[] = [];
  let rows = 0;
  let lastLine: { buf: Buffer; start: number; end: number } | null = null;
  let carry: Buffer | null = null;
  const cut = (): Slab => {
    const slab = { lines, rows, last: lastLine ? cursorOfLine(lastLine.buf.toString('utf8', lastLine.start, lastLine.end)) : null };
    lines = [];
    rows = 0;
    return slab;
  };
  for await (const piece of body) {
    let chunk = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    if (carry) chunk = Buffer.concat([carry, chunk]);
    carry = null;
    let from = 0; // first byte of `chunk` not yet in `lines`
    let at = 0; // start of the current line
    for (;;) {
      const nl = chunk.indexOf(NL, at);
      if (nl < 0) break;
      if (chunk[at] === BACKSLASH) {
        const trailer = chunk.toString('utf8', at, nl + 1);
        if (!trailer.startsWith(TRAILER_PREFIX) || nl + 1 !== chunk.length) throw new Error(`export stream: unexpected line ${JSON.stringify(trailer.slice(0, 40))}`);
        if (at > from) lines.push(chunk.subarray(from, at));
        const kind = trailer.slice(TRAILER_PREFIX.length, -1);
        if (kind !== 'more' && kind !== 'end') throw new Error(`export stream: unknown trailer ${JSON.stringify(kind)}`);
        yield { ...cut(), trailer: kind };
        return;
      }
      rows++;
      lastLine = { buf: chunk, start: at, end: nl };
      at = nl + 1;
      if (rows === slabRows) {
        lines.push(chunk.subarray(from, at));
        from = at;
        yield cut();
      }
    }
    if (at > from) lines.push(chunk.subarray(from, at));
    if (at < chunk.length) carry = chunk.subarray(at);
  }
  throw new Error(`export stream: cut short after ${rows} record(s) of a slab (no trailer): the app closed the stream early`);
}
