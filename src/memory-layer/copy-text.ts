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

function copyField(v: string | null): string {
  if (v === null) return '\\N';
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

export function copyLine(r: MemoryRecord): string {
  return (
    [r.id, r.ownerId, r.agentId, r.kind, r.content, JSON.stringify(r.metadata ?? {}), r.createdAt.toISOString(), r.updatedAt.toISOString()]
      .map(copyField)
      .join('\t') + '\n'
  );
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
