import type { MemoryRecord, RecordCursor } from './record';

/**
 * The record stream of the admin export (`GET /admin/export-stream`): PostgreSQL's COPY text
 * format, one record per line, the columns of {@link COPY_COLUMNS} in that order, so the worker
 * feeds the lines into `COPY … FROM STDIN` without decoding them. Backslash, tab, newline and
 * carriage return are escaped and NULL is `\N`, so a raw newline byte only ever ends a record.
 *
 * The stream ends with one trailer line, `\.` TAB `more` or `end`: `more` when records after the
 * last line remain in the requested range (the limit cut the stream), `end` when the range is
 * exhausted. A stream without its trailer was cut short (the app died mid-stream) and its last
 * records must not be trusted as the end of the range.
 */
export const COPY_COLUMNS = 'id, owner_id, agent_id, kind, content, metadata, created_at, updated_at';
export const TRAILER_PREFIX = '\\.\t';

const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One text field: most values hold no special byte, so they are tested before any replace. */
function copyField(v: string | null): string {
  if (v === null) return '\\N';
  return SPECIAL.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : v;
}

export function copyLine(r: MemoryRecord): string {
  // id and the timestamps are a uuid and ISO-8601: never escaped.
  return `${r.id}\t${copyField(r.ownerId)}\t${copyField(r.agentId)}\t${copyField(r.kind)}\t${copyField(r.content)}\t${copyField(JSON.stringify(r.metadata ?? {}))}\t${r.createdAt.toISOString()}\t${r.updatedAt.toISOString()}\n`;
}

export function trailerLine(more: boolean): string {
  return `${TRAILER_PREFIX}${more ? 'more' : 'end'}\n`;
}

/**
 * The (created_at, id) cursor of one record line (without its newline). The id (a uuid) and
 * created_at (ISO-8601) never carry escapes, so splitting on tabs is exact for them.
 */
export function cursorOfLine(line: string): RecordCursor {
  const cols = line.split('\t');
  if (cols.length !== 8) throw new Error(`export stream: a record line has ${cols.length} columns, expected 8`);
  return { createdAt: cols[6], id: cols[0] };
}
