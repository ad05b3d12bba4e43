/** Reading libpg-query's JSON parse trees: nodes are `{ TypeName: { ...fields } }`. */

export interface RawStmt {
  stmt: Json;
  stmt_location?: number;
  stmt_len?: number;
}

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Visits every object under `value` held by a key that `isNode` accepts, depth first. */
function walkKeyed(value: unknown, isNode: (key: string) => boolean, visit: (type: string, node: Json) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) walkKeyed(v, isNode, visit);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (isNode(key) && isObject(child)) visit(key, child);
    walkKeyed(child, isNode, visit);
  }
}

/** Every parse-tree node: node wrappers are capitalised (`DropStmt`), fields are not (`removeType`, `if_not_exists`). */
export function walkNodes(value: unknown, visit: (type: string, node: Json) => void): void {
  walkKeyed(value, (key) => /^[A-Z]/.test(key), visit);
}

export function listOf(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isObject(v) && isObject(v.List) && Array.isArray(v.List.items)) return v.List.items;
  return [];
}

export function stringValue(v: unknown): string | undefined {
  if (isObject(v) && isObject(v.String) && typeof v.String.sval === 'string') return v.String.sval;
  return undefined;
}

export function qualifiedName(v: unknown): string {
  return listOf(v).map(stringValue).filter((s): s is string => s !== undefined).join('.');
}

export function rangeVarName(v: unknown): string {
  const rv = isObject(v) && isObject(v.RangeVar) ? v.RangeVar : v;
  if (!isObject(rv)) return '';
  return [rv.schemaname, rv.relname].filter((s) => typeof s === 'string').join('.');
}

export function dropTargets(node: Json): string {
  return listOf(node.objects)
    .map((o) => stringValue(o) ?? qualifiedName(o))
    .filter(Boolean)
    .join(', ');
}

export function defElemArg(options: unknown, name: string): unknown {
  for (const o of listOf(options)) {
    if (isObject(o) && isObject(o.DefElem) && o.DefElem.defname === name) return o.DefElem.arg;
  }
  return undefined;
}

export function exprQuery(v: unknown): string | undefined {
  return isObject(v) && isObject(v.PLpgSQL_expr) && typeof v.PLpgSQL_expr.query === 'string' ? v.PLpgSQL_expr.query : undefined;
}

/** Every statement of a PL/pgSQL parse tree (`PLpgSQL_stmt_*`). */
export function walkPlpgsqlStatements(value: unknown, visit: (type: string, stmt: Json) => void): void {
  walkKeyed(value, (key) => key.startsWith('PLpgSQL_stmt_'), visit);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** libpg-query's error position: a 0-based character offset into the parsed text. */
export function errorCursor(err: unknown): number | undefined {
  const details = isObject(err) && isObject(err.sqlDetails) ? err.sqlDetails : undefined;
  return details && typeof details.cursorPosition === 'number' ? details.cursorPosition : undefined;
}
