/**
 * Table names of the generic conversion: parsed, validated and quoted once, up front.
 *
 * A name is `table` or `schema.table`; each part is taken literally as it is spelled in the
 * catalog (quoted when used, so `Invoices` names the table "Invoices", not invoices). Parts are
 * 1–63 characters of letters, digits, `_` or `$`, not starting with a digit: no quotes, dots,
 * spaces or SQL. Derived names (shadow, old table, partitions, indexes) stay within Postgres'
 * 63-byte identifier limit by shortening the base, never the suffix.
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

export function parseTableName(input: unknown, field = 'table'): TableName {
  if (typeof input !== 'string' || input.length === 0) throw new TableNameError(field, 'required: a table name, "name" or "schema.name"');
  const parts = input.split('.');
  if (parts.length > 2) throw new TableNameError(field, `must be "name" or "schema.name", got ${JSON.stringify(input)}`);
  for (const p of parts) {
    if (!NAME_PART.test(p)) {
      throw new TableNameError(field, `${JSON.stringify(p)} is not an identifier: 1–63 letters, digits, _ or $, not starting with a digit (no quotes, spaces or SQL)`);
    }
  }
  return parts.length === 2 ? { schema: parts[0], name: parts[1] } : { schema: null, name: parts[0] };
}

export function parseColumnName(input: unknown, field: string): string {
  if (typeof input !== 'string' || !NAME_PART.test(input)) {
    throw new TableNameError(field, `must be a column name: 1–63 letters, digits, _ or $, not starting with a digit; got ${JSON.stringify(input)}`);
  }
  return input;
}

const bytes = (s: string) => new TextEncoder().encode(s).length;

/** `base` shortened (on a character boundary) so that `base + suffix` fits 63 bytes. */
export function withSuffix(base: string, suffix: string): string {
  const chars = [...base];
  while (chars.length > 1 && bytes(chars.join('') + suffix) > MAX_IDENT) chars.pop();
  return chars.join('') + suffix;
}
