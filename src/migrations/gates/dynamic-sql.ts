import { parseSync } from 'libpg-query';
import type { PlpgsqlContext } from './facts';
import { isObject, listOf, qualifiedName, stringValue, type Json, type RawStmt } from './nodes';
import { decodeStringToken, scanTokens } from './scanner';

// --- Reconstructing run-time SQL from an expression ------------------------------------------

/**
 * One possible value of a dynamic-SQL expression. `sql` has every part unknown before run time
 * replaced by a placeholder identifier or literal so that it can be parsed; `literal` has those
 * parts blanked out, leaving only text written in the file, for the keyword check.
 */
export interface Candidate {
  sql: string;
  literal: string;
  /** True when nothing in it is unknown. */
  known: boolean;
}

export const DUMMY_IDENT = 'gate_placeholder';
const DUMMY_LITERAL = "'gate_placeholder'";
const MAX_CANDIDATES = 32;
const unknownPart = (sql = DUMMY_IDENT): Candidate => ({ sql, literal: ' ', known: false });

/** Parses a PL/pgSQL expression as `SELECT <expr>` and reconstructs its possible values. */
export function candidatesOf(expr: string, ctx: PlpgsqlContext, visiting: Set<string>): Candidate[] {
  const node = parseExpression(expr);
  if (node === undefined) {
    // Not parseable on its own: keep the string constants the scanner finds.
    const lits = (scanTokens(expr) ?? []).filter((t) => t.tokenName === 'SCONST').map((t) => decodeStringToken(t.text));
    return [{ sql: lits.join(' '), literal: lits.join(' '), known: false }];
  }
  return reconstruct(node, ctx, visiting);
}

function parseExpression(expr: string): unknown {
  try {
    const res = parseSync(`SELECT ${expr}`) as unknown as { stmts?: RawStmt[] };
    const sel = res.stmts?.length === 1 ? res.stmts[0].stmt.SelectStmt : undefined;
    const targets = isObject(sel) ? listOf(sel.targetList) : [];
    const rt = targets.length === 1 && isObject(targets[0]) ? targets[0].ResTarget : undefined;
    return isObject(rt) ? rt.val : undefined;
  } catch {
    return undefined;
  }
}

function reconstruct(node: unknown, ctx: PlpgsqlContext, visiting: Set<string>): Candidate[] {
  if (!isObject(node)) return [unknownPart()];
  const [type, n] = Object.entries(node)[0] ?? [];
  if (!isObject(n)) return [unknownPart()];
  switch (type) {
    case 'A_Const': {
      if (isObject(n.sval) && typeof n.sval.sval === 'string') return [{ sql: n.sval.sval, literal: n.sval.sval, known: true }];
      if (n.isnull) return [{ sql: '', literal: '', known: true }];
      const num = isObject(n.ival) ? (n.ival.ival ?? 0) : isObject(n.fval) ? n.fval.fval : isObject(n.boolval) ? n.boolval.boolval : undefined;
      return [{ sql: String(num ?? 0), literal: String(num ?? 0), known: true }];
    }
    case 'TypeCast':
      return reconstruct(n.arg, ctx, visiting);
    case 'A_Expr':
      if (qualifiedName(n.name) === '||') return concat([reconstruct(n.lexpr, ctx, visiting), reconstruct(n.rexpr, ctx, visiting)]);
      return [unknownPart()];
    case 'FuncCall':
      return reconstructCall(n, ctx, visiting);
    case 'ColumnRef': {
      const fields = listOf(n.fields).map(stringValue);
      const name = fields.length === 1 ? fields[0]?.toLowerCase() : undefined;
      const exprs = name === undefined ? undefined : ctx.assignments.get(name);
      if (name === undefined || !exprs || visiting.has(name)) return [unknownPart()];
      const inner = new Set(visiting).add(name);
      return exprs.flatMap((e) => candidatesOf(e, ctx, inner)).slice(0, MAX_CANDIDATES);
    }
    default:
      return [unknownPart()];
  }
}

function reconstructCall(n: Json, ctx: PlpgsqlContext, visiting: Set<string>): Candidate[] {
  const fn = (qualifiedName(n.funcname).split('.').pop() ?? '').toLowerCase();
  const args = listOf(n.args);
  const argCands = () => args.map((a) => reconstruct(a, ctx, visiting));
  switch (fn) {
    case 'format': {
      if (args.length === 0) return [unknownPart()];
      const [fmt, ...rest] = argCands();
      return fmt.map((f) => applyFormat(f, rest));
    }
    case 'concat':
      return concat(argCands());
    case 'concat_ws': {
      const [sep, ...rest] = argCands();
      const s = sep?.[0] ?? unknownPart(' ');
      return concat(rest.flatMap((r, i) => (i === 0 ? [r] : [[s], r])));
    }
    case 'quote_ident':
      return onlyKnown(argCands()[0])?.map((c) => ({ ...c, sql: quoteIdent(c.sql) })) ?? [unknownPart()];
    case 'quote_literal':
    case 'quote_nullable':
      return [unknownPart(DUMMY_LITERAL)];
    default: {
      // An unknown function: its result is unknown, but literal text passed to it is kept for
      // the keyword check (replace('DROP TABLE $1', '$1', t) …).
      const lits = argCands().flat().map((c) => c.literal).join(' ');
      return [{ sql: DUMMY_IDENT, literal: ` ${lits} `, known: false }];
    }
  }
}

/** PERFORM f(a, b, …): each argument of each function call, as a candidate of its own. */
export function functionArgumentCandidates(performQuery: string, ctx: PlpgsqlContext): Candidate[] {
  let tree: unknown;
  try {
    tree = parseSync(performQuery);
  } catch {
    return [];
  }
  const out: Candidate[] = [];
  // Outermost calls only: reconstruct() already looks into nested ones (format(), concat() …).
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!isObject(v)) return;
    if (isObject(v.FuncCall)) {
      for (const a of listOf(v.FuncCall.args)) out.push(...reconstruct(a, ctx, new Set()).filter((c) => c.literal.trim() !== ''));
      return;
    }
    Object.values(v).forEach(visit);
  };
  visit(tree);
  return out.slice(0, MAX_CANDIDATES);
}

function onlyKnown(cands: Candidate[] | undefined): Candidate[] | undefined {
  return cands && cands.length > 0 && cands.every((c) => c.known) ? cands : undefined;
}

function concat(parts: Candidate[][]): Candidate[] {
  let acc: Candidate[] = [{ sql: '', literal: '', known: true }];
  for (const p of parts) {
    const next: Candidate[] = [];
    for (const a of acc) for (const b of p) if (next.length < MAX_CANDIDATES) next.push({ sql: a.sql + b.sql, literal: a.literal + b.literal, known: a.known && b.known });
    acc = next;
  }
  return acc;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * format(fmt, args…) with PostgreSQL's placeholders: %s, %I, %L, %% and the `n$` / width forms.
 * A constant argument is substituted; an unknown one becomes a placeholder identifier/literal.
 */
function applyFormat(fmt: Candidate, args: Candidate[][]): Candidate {
  let next = 0;
  let known = fmt.known;
  const spec = /%(?:(\d+)\$)?(-?(?:\d+|\*(?:\d+\$)?)?)([sIL%])/g;
  const render = (text: string, forLiteral: boolean) => {
    next = 0;
    return text.replace(spec, (_m, pos: string | undefined, width: string, conv: string) => {
      if (conv === '%') return '%';
      if (width.includes('*') && !width.includes('$')) next++; // the width comes from an argument
      const idx = pos ? Number(pos) - 1 : next;
      next = idx + 1;
      const arg = args[idx]?.length === 1 && args[idx][0].known ? args[idx][0].sql : undefined;
      if (arg === undefined) {
        known = false;
        return forLiteral ? ' ' : conv === 'L' ? DUMMY_LITERAL : DUMMY_IDENT;
      }
      return conv === 'I' ? quoteIdent(arg) : conv === 'L' ? quoteLiteral(arg) : arg;
    });
  };
  return { sql: render(fmt.sql, false), literal: render(fmt.literal, true), known };
}
