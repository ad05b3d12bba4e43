import type { ServerResponse } from 'node:http';
import type { RecordCursor } from '../record';
import type { ExportableStore, RangeFilter } from '../storage/store';
import { copyLine, trailerLine, COPY_COLUMNS } from '../copy-text';

/** Largest `limit` of one export stream (rows); the worker asks for one chunk per call. */
export const MAX_STREAM_ROWS = 1_000_000;
/** Records encoded per step: the store is read in pages, never copied whole. */
const PAGE = 1000;
/** Bytes buffered before a write; the socket's back-pressure pauses the encoder. */
const FLUSH_BYTES = 64 * 1024;

/**
 * Streams up to `limit` records after `after` in (created_at, id) order as COPY text
 * (copy-text.ts), ending with the trailer line. Each page is read from the store as it is
 * sent, so memory stays bounded whatever the range; a client that goes away stops the stream.
 */
export async function streamExport(res: ServerResponse, store: ExportableStore, after: RecordCursor | null, limit: number, range: RangeFilter): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-copy-columns': COPY_COLUMNS, 'cache-control': 'no-store' });
  let closed = false;
  res.once('close', () => (closed = true));
  let cursor = after;
  let sent = 0;
  let more = true;
  let buf = '';
  const flush = async () => {
    if (buf === '' || closed) return;
    const ok = res.write(buf);
    buf = '';
    if (!ok) await drained(res);
  };
  while (sent < limit && !closed) {
    // The store's own objects, encoded before the next await (no copy per record).
    const page = store.exportPage(cursor, Math.min(PAGE, limit - sent), range, { shared: true });
    for (const r of page.records) {
      buf += copyLine(r);
      if (buf.length >= FLUSH_BYTES) await flush();
    }
    sent += page.records.length;
    const last = page.records[page.records.length - 1];
    if (!page.nextCursor || !last) {
      more = false;
      break;
    }
    cursor = { createdAt: last.createdAt.toISOString(), id: last.id };
  }
  if (closed) return;
  buf += trailerLine(more);
  await flush();
  res.end();
}

/** Resolves on 'drain' or 'close', removing both listeners (one wait per flush, thousands per stream). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
