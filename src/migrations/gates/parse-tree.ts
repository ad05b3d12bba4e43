import { parseSync, parsePlPgSQLSync } from 'libpg-query';
import { MAX_DEPTH, Scope, type Fact, type PlpgsqlContext } from './facts';
import { defElemArg, dropTargets, errorCursor, errorMessage, exprQuery, isObject, listOf, qualifiedName, rangeVarName, stringValue, walkNodes, walkPlpgsqlStatements, type Json, type RawStmt } from './nodes';
import { candidatesOf, functionArgumentCandidates, type Candidate } from './dynamic-sql';
import { foreignBodyWords, keywordCheck, leadingTriviaBytes, scanTokens } from './scanner';

/**
 * Parse-tree analysis: what a file does, statement by statement, on PostgreSQL's own parse tree
 * (libpg-query), including SQL inside function bodies (LANGUAGE sql, PL/pgSQL) and the SQL that
 * PL/pgSQL builds at run time (reconstructed by dynamic-sql.ts).
 */

export function analyseFile(sql: string): Fact[] {
  const facts: Fact[] = [];
  analyseSql(new Scope(sql, 1, { kind: 'static' }, 0), facts, true);
  return facts;
}

/**
 * Parses `scope.text` and records what each statement does. Returns false when it does not
 * parse; in a static scope that is a parse-error finding, in a dynamic one the caller falls back
 * to a keyword check.
 */
export function analyseSql(scope: Scope, facts: Fact[], fatal = false): boolean {
  let stmts: RawStmt[];
  try {
    // An empty file is no statement at all; the parser would call it an error.
    stmts = scope.text.trim() === '' ? [] : ((parseSync(scope.text) as unknown as { stmts?: RawStmt[] }).stmts ?? []);
  } catch (err) {
    if (scope.origin.kind !== 'static') return false;
    const pos = errorCursor(err);
    const byte = pos === undefined ? 0 : Buffer.byteLength(scope.text.slice(0, pos), 'utf8');
    const where = scope.origin.where && !fatal ? ` (in ${scope.origin.where})` : '';
    facts.push({ type: 'parse-error', message: `does not parse${where}: ${errorMessage(err)}`, line: scope.lineAt(byte), fatal });
    return false;
  }
  for (const raw of stmts) {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : scope.bytes.length;
    const stmtText = scope.bytes.subarray(start, end).toString('utf8');
    const line = scope.lineAt(start + leadingTriviaBytes(stmtText));
    analyseStatement(raw.stmt, stmtText, scope, start, line, facts);
  }
  return true;
}

/**
 * Visits every parse-tree node of one statement (nodes are `{ TypeName: {...fields} }`), so
 * statements nested in others count too: a BEGIN ATOMIC function body, CREATE SCHEMA … CREATE
 * TABLE …. Nested nodes are reported on the enclosing statement's line.
 */
function analyseStatement(stmt: Json, stmtText: string, scope: Scope, stmtStart: number, line: number, facts: Fact[]): void {
  walkNodes(stmt, (type, node) => {
    switch (type) {
      case 'DropStmt': {
        const what = node.removeType === 'OBJECT_TABLE' ? 'DROP TABLE' : node.removeType === 'OBJECT_SCHEMA' ? 'DROP SCHEMA' : undefined;
        if (what) facts.push({ type: 'destructive', what, target: dropTargets(node), line, origin: scope.origin });
        break;
      }
      case 'TruncateStmt':
        facts.push({ type: 'destructive', what: 'TRUNCATE', target: listOf(node.relations).map(rangeVarName).join(', '), line, origin: scope.origin });
        break;
      case 'CreateStmt':
        facts.push({ type: 'create', what: 'CREATE TABLE', target: rangeVarName(node.relation), ifNotExists: node.if_not_exists === true, line, origin: scope.origin });
        break;
      case 'IndexStmt':
        facts.push({ type: 'create', what: 'CREATE INDEX', target: typeof node.idxname === 'string' ? node.idxname : `on ${rangeVarName(node.relation)}`, ifNotExists: node.if_not_exists === true, line, origin: scope.origin });
        break;
      case 'CreateTableAsStmt': {
        const into = isObject(node.into) ? node.into : {};
        const what = node.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE … AS';
        facts.push({ type: 'create', what, target: rangeVarName(into.rel), ifNotExists: node.if_not_exists === true, line, origin: scope.origin });
        break;
      }
      case 'CreateFunctionStmt': {
        const name = qualifiedName(node.funcname);
        facts.push({ type: 'function', name: name.split('.').pop() ?? name, line, origin: scope.origin });
        analyseRoutineBody(node, `function ${name}`, node.options, 'sql', stmtText, scope, stmtStart, line, facts);
        break;
      }
      case 'DoStmt':
        analyseRoutineBody(node, 'DO block', node.args, 'plpgsql', stmtText, scope, stmtStart, line, facts);
        break;
    }
  });
}

/**
 * The body of a CREATE FUNCTION / DO: PL/pgSQL is parsed with PostgreSQL's PL/pgSQL parser and
 * walked; a LANGUAGE sql body is parsed as SQL; a body in any other language (plpython …) cannot
 * be parsed here, so it gets the keyword check.
 */
function analyseRoutineBody(
  node: Json,
  where: string,
  options: unknown,
  defaultLanguage: string,
  stmtText: string,
  scope: Scope,
  stmtStart: number,
  line: number,
  facts: Fact[],
): void {
  if (scope.depth >= MAX_DEPTH) return;
  const langArg = defElemArg(options, 'language');
  const language = (stringValue(langArg) ?? defaultLanguage).toLowerCase();
  const asArg = defElemArg(options, 'as');
  const bodyParts = listOf(asArg);
  // CREATE FUNCTION keeps its body as a one-item list (two items: a C function's file and symbol).
  const body = stringValue(asArg) ?? (bodyParts.length === 1 ? stringValue(bodyParts[0]) : undefined);
  if (body === undefined) return; // BEGIN ATOMIC bodies are in the parse tree already; C functions have none.

  const bodyOffset = bodyOffsetIn(stmtText, body);
  const bodyLine = bodyOffset === undefined ? line : scope.lineAt(stmtStart + bodyOffset);

  if (language === 'plpgsql') {
    analysePlpgsql(stmtText, body, where, scope, line, bodyLine, facts);
  } else if (language === 'sql') {
    analyseSql(scope.nested(body, bodyLine, where), facts);
  } else if (!['c', 'internal'].includes(language)) {
    // Here SQL sits in the other language's string literals (plpy.execute('…')), so quoted text
    // counts; only `#` comment lines (Python, Perl, Tcl, R) are skipped.
    keywordCheck(body, scope.dynamic(body, line, `LANGUAGE ${language}`, 'foreign-body'), facts, foreignBodyWords);
  }
}

/** Byte offset of a routine body's first character inside its statement (after `$tag$` or `'`). */
function bodyOffsetIn(stmtText: string, body: string): number | undefined {
  for (const t of scanTokens(stmtText) ?? []) {
    if (t.tokenName !== 'SCONST') continue;
    const dollar = /^\$[^$]*\$/.exec(t.text);
    if (dollar && t.text.length >= 2 * dollar[0].length && t.text.slice(dollar[0].length, t.text.length - dollar[0].length) === body) {
      return t.start + Buffer.byteLength(dollar[0]);
    }
    if (t.text.startsWith("'") && t.text.slice(1, -1).replace(/''/g, "'") === body) return t.start + 1;
  }
  return undefined;
}

// --- PL/pgSQL ---------------------------------------------------------------------------------

function analysePlpgsql(stmtText: string, body: string, where: string, scope: Scope, line: number, bodyLine: number, facts: Fact[]): void {
  let funcs: unknown[];
  try {
    funcs = listOf((parsePlPgSQLSync(stmtText) as unknown as Json).plpgsql_funcs);
  } catch (err) {
    if (scope.origin.kind === 'static') {
      facts.push({ type: 'parse-error', message: `PL/pgSQL body of ${where} does not parse: ${errorMessage(err)}`, line, fatal: false });
    } else {
      keywordCheck(body, scope.dynamic(body, line, scope.origin.via ?? 'EXECUTE', 'dynamic-keywords'), facts);
    }
    return;
  }
  for (const f of funcs) {
    const fn = isObject(f) && isObject(f.PLpgSQL_function) ? f.PLpgSQL_function : undefined;
    if (!fn) continue;
    const bodyScope = scope.nested(body, bodyLine, where);
    const ctx: PlpgsqlContext = { scope: bodyScope, bodyLine, assignments: collectAssignments(fn), facts };
    walkPlpgsql(fn.action, ctx);
  }
}

/** Variable name → expressions assigned to it, so `q := 'DROP TABLE ' || t; EXECUTE q;` is seen. */
function collectAssignments(fn: Json): Map<string, string[]> {
  const datums = listOf(fn.datums);
  const names = datums.map((d) => {
    const v = isObject(d) ? Object.values(d)[0] : undefined;
    return isObject(v) && typeof v.refname === 'string' ? v.refname.toLowerCase() : undefined;
  });
  const map = new Map<string, string[]>();
  const add = (name: string | undefined, expr: string | undefined) => {
    if (!name || expr === undefined) return;
    map.set(name, [...(map.get(name) ?? []), expr]);
  };
  datums.forEach((d, i) => {
    const v = isObject(d) && isObject(d.PLpgSQL_var) ? d.PLpgSQL_var : undefined;
    if (v) add(names[i], exprQuery(v.default_val));
  });
  walkPlpgsqlStatements(fn.action, (type, s) => {
    if (type !== 'PLpgSQL_stmt_assign' || typeof s.varno !== 'number') return;
    // The assignment's text is `target := expr` (or `target = expr`); keep the expression.
    const q = exprQuery(s.expr);
    const m = q === undefined ? null : /^[^:=]*?(?::=|=)\s*/s.exec(q);
    if (q !== undefined && m) add(names[s.varno], q.slice(m[0].length));
  });
  return map;
}


/** Dynamic-SQL statements of PL/pgSQL and the field holding the run-time query. */
const DYNAMIC_SQL: Record<string, { field: string; via: string }> = {
  PLpgSQL_stmt_dynexecute: { field: 'query', via: 'EXECUTE' },
  PLpgSQL_stmt_dynfors: { field: 'query', via: 'FOR … IN EXECUTE' },
  PLpgSQL_stmt_return_query: { field: 'dynquery', via: 'RETURN QUERY EXECUTE' },
  PLpgSQL_stmt_open: { field: 'dynquery', via: 'OPEN … FOR EXECUTE' },
};

/** Static SQL statements of PL/pgSQL (a nested DO is a `call` statement). */
const STATIC_SQL: Record<string, string> = {
  PLpgSQL_stmt_execsql: 'sqlstmt',
  PLpgSQL_stmt_call: 'expr',
  PLpgSQL_stmt_perform: 'expr',
};

function walkPlpgsql(action: unknown, ctx: PlpgsqlContext): void {
  walkPlpgsqlStatements(action, (type, s) => {
    const line = typeof s.lineno === 'number' ? ctx.bodyLine + s.lineno - 1 : ctx.bodyLine;
    const staticField = STATIC_SQL[type];
    if (staticField) {
      const q = exprQuery(s[staticField]);
      if (q !== undefined) analyseSql(ctx.scope.nested(q, line, undefined), ctx.facts);
    }
    const dyn = DYNAMIC_SQL[type];
    if (dyn) {
      const q = exprQuery(s[dyn.field]);
      if (q !== undefined) analyseDynamic(candidatesOf(q, ctx, new Set()), dyn.via, line, ctx);
    }
    if (type === 'PLpgSQL_stmt_perform') {
      // PERFORM dblink_exec('…', format('DROP TABLE %I', t)): each function argument may be SQL
      // run elsewhere. Only strings that parse as SQL, or start like a destructive statement,
      // count here: PERFORM's arguments are usually messages, not SQL.
      const q = exprQuery(s.expr);
      if (q !== undefined) analyseDynamic(functionArgumentCandidates(q, ctx), 'PERFORM', line, ctx, true);
    }
  });
}

function analyseDynamic(cands: Candidate[], via: string, line: number, ctx: PlpgsqlContext, onlyIfSqlLike = false): void {
  for (const c of cands) {
    if (ctx.scope.depth >= MAX_DEPTH) return;
    if (analyseSql(ctx.scope.dynamic(c.sql, line, via), ctx.facts)) continue;
    if (onlyIfSqlLike && !/^\s*(drop|truncate)\b/i.test(c.literal)) continue;
    keywordCheck(c.literal, ctx.scope.dynamic(c.literal, line, via, 'dynamic-keywords'), ctx.facts);
  }
}
