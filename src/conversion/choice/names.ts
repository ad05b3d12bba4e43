/**
 * Table names of the generic conversion: parsed, validated and quoted once, up front.
 *
 * A name is `table` or `schema.table`; each part is either plain — 1–63 letters, digits, `_` or
 * `$`, not starting with a digit, taken literally as it is spelled in the catalog (so `Invoices`
 * names the table "Invoices", not invoices) — or double-quoted as in SQL, with `""` for a quote
 * inside: `"SalesEU"."Order Events"`. Any name Postgres accepts can be given (quoted); a quoted
 * part may not be empty, hold a NUL, or exceed 63 bytes. Every use quotes it again (`qi`).
 * Derived names (shadow, old table, partitions, indexes) stay within Postgres' 63-byte identifier
 * limit by shortening the base, never the suffix.
 */
export const NAME_PART = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
export const MAX_IDENT = 63;

export class TableNameError extends Error {
  constructor(
    public readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'TableNameError';
  }
}

export interface TableName {
  /** null: resolved through the session's search_path. */
  schema: string | null;
  name: string;
}

/** Quotes an identifier (doubling quotes, as quote_ident does). */
export function qi(ident: string): string {
  return `"${ident.replace(/"/g, '""')}"`;
}

/** "schema"."name" (or "name" when the schema is not known). */
export function qualified(t: { schema: string | null; name: string }): string {
  return t.schema === null ? qi(t.name) : `${qi(t.schema)}.${qi(t.name)}`;
}

/** A single-quoted SQL literal. */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Splits `input` into its dot-separated parts, reading a double-quoted part as SQL does ("" is a
 * quote), or why it is not a name.
 */
function splitName(input: string): { parts: string[] } | { error: string } {
  const parts: string[] = [];
  let i = 0;
  for (;;) {
    if (input[i] === '"') {
      let v = '';
      let j = i + 1;
      for (;;) {
        if (j >= input.length) return { error: `unterminated quoted identifier in ${JSON.stringify(input)}` };
        if (input[j] === '"') {
          if (input[j + 1] === '"') { v += '"'; j += 2; continue; }
          break;
        }
        v += input[j++];
      }
      if (v.length === 0) return { error: 'a quoted identifier may not be empty ("")' };
      if (v.includes('\0')) return { error: 'an identifier may not contain a NUL character' };
      if (bytes(v) > MAX_IDENT) return { error: `${JSON.stringify(v)} is ${bytes(v)} bytes; Postgres identifiers are at most ${MAX_IDENT}` };
      parts.push(v);
      i = j + 1;
    } else {
      const dot = input.indexOf('.', i);
      const p = dot < 0 ? input.slice(i) : input.slice(i, dot);
      if (p.includes('"') || !NAME_PART.test(p)) {
        return { error: `${JSON.stringify(p)} is not an identifier: 1–63 letters, digits, _ or $, not starting with a digit, or any name in double quotes as in SQL ("Order Events", "" for a quote inside)` };
      }
      parts.push(p);
      i = dot < 0 ? input.length : dot;
    }
    if (i >= input.length) return { parts };
    if (input[i] !== '.') return { error: `expected "." after a quoted identifier in ${JSON.stringify(input)}` };
    i++;
    if (i >= input.length) return { error: `${JSON.stringify(input)} ends with "."` };
  }
}

export function parseTableName(input: unknown, field = 'table'): TableName {
  if (typeof input !== 'string' || input.length === 0) throw new TableNameError(field, 'required: a table name, "name" or "schema.name"');
  const r = splitName(input);
  if ('error' in r) throw new TableNameError(field, r.error);
  if (r.parts.length > 2) throw new TableNameError(field, `must be "name" or "schema.name", got ${JSON.stringify(input)}`);
  return r.parts.length === 2 ? { schema: r.parts[0], name: r.parts[1] } : { schema: null, name: r.parts[0] };
}

export function parseColumnName(input: unknown, field: string): string {
  const r = typeof input === 'string' && input.length ? splitName(input) : null;
  if (!r || 'error' in r || r.parts.length !== 1) {
    throw new TableNameError(field, `must be a column name: 1–63 letters, digits, _ or $, not starting with a digit, or any name in double quotes ("Placed At"); got ${JSON.stringify(input)}${r && 'error' in r ? ` (${r.error})` : ''}`);
  }
  return r.parts[0];
}

/** A name part as the input would spell it: plain when it can be, else double-quoted. */
export function spellPart(p: string): string {
  return NAME_PART.test(p) ? p : qi(p);
}

/** `schema.name` as the input spells it (each part quoted only when it must be). */
export function spellTable(t: { schema: string | null; name: string }): string {
  return t.schema === null ? spellPart(t.name) : `${spellPart(t.schema)}.${spellPart(t.name)}`;
}

const bytes = (s: string) => new TextEncoder().encode(s).length;

/** `base` shortened (on a character boundary) so that `base + suffix` fits 63 bytes. */
export function withSuffix(base: string, suffix: string): string {
  const chars = [...base];
  while (chars.length > 1 && bytes(chars.join('') + suffix) > MAX_IDENT) chars.pop();
  return chars.join('') + suffix;
}
