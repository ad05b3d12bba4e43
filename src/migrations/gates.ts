import fs from 'node:fs/promises';
import path from 'node:path';
import { loadModule, parseSync, parsePlPgSQLSync, scanSync } from 'libpg-query';

/**
 * The runbook's CI gates for migration files ("CI/CD Integration"):
 *
 *  1. destructive SQL blocker — no DROP TABLE, DROP SCHEMA or TRUNCATE in any `*.sql` except
 *     files ending in `_dev.sql`;
 *  2. safe-migration banner — `002_partitions.sql` says "SAFE PRODUCTION MIGRATION";
 *  3. partition validation — `002_partitions.sql` defines `create_monthly_partition` and every
 *     CREATE TABLE / CREATE INDEX in it uses IF NOT EXISTS;
 *  plus: a file the PostgreSQL parser rejects is a finding of its own.
 *
 * Everything is decided on PostgreSQL's own parse tree (libpg-query: the real parser compiled to
 * WASM), never on regular expressions over the text: words in comments or string literals raise
 * no alarm, and case, whitespace or comments between keywords hide nothing. SQL built at run time
 * (EXECUTE in a DO block or a PL/pgSQL function) is reconstructed from the expression's string
 * constants and parsed too; when such a string cannot be parsed, its literal contents get a
 * keyword check instead, so the gate errs on the side of blocking.
 */

export type GateRule = 'destructive-sql' | 'safe-banner' | 'partition-helper' | 'if-not-exists' | 'parse-error';

export interface GateFinding {
  /** The file as it was named to the checker (for a directory: the directory joined with the name). */
  file: string;
  /** 1-based line where the offending statement starts (for dynamic SQL: the EXECUTE's line). */
  line: number;
  rule: GateRule;
  message: string;
  /** What to do about it. */
  fix: string;
}

export interface MigrationSource {
  name: string;
  sql: string;
}

/** The runbook's safe production migration, the one the banner and partition gates look at. */
export const SAFE_MIGRATION_FILE = '002_partitions.sql';
export const SAFE_MIGRATION_BANNER = 'SAFE PRODUCTION MIGRATION';
export const PARTITION_HELPER = 'create_monthly_partition';
/** Files the destructive-SQL blocker exempts (never deployed to production). */
export const DEV_ONLY_SUFFIX = '_dev.sql';

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** Runs every gate over the given files. Findings come sorted by file, then line. */
export async function checkMigrationSql(files: MigrationSource[]): Promise<GateFinding[]> {
  await loadModule();
  const findings: GateFinding[] = [];
  for (const f of files) findings.push(...gateFile(f.name, f.sql, analyseFile(f.sql)));
  return findings.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
}

/** Runs every gate over all `*.sql` files of `dir` (not recursive). */
export async function checkMigrationsDir(dir: string): Promise<GateFinding[]> {
  return checkMigrationSql(await readMigrationFiles(dir));
}

/** All `*.sql` files of `dir`, sorted by name; `name` is `dir` joined with the file name. */
export async function readMigrationFiles(dir: string): Promise<MigrationSource[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isFile() && e.name.endsWith('.sql')).map((e) => e.name).sort();
  return Promise.all(names.map(async (n) => ({ name: path.join(dir, n), sql: await fs.readFile(path.join(dir, n), 'utf8') })));
}

// ---------------------------------------------------------------------------------------------
// Gates: turn what the analysis saw in one file into findings
// ---------------------------------------------------------------------------------------------

const FIX_DESTRUCTIVE =
  `move destructive statements to a file ending in ${DEV_ONLY_SUFFIX} (never deployed to production), ` +
  'or make the change non-destructive: ALTER TABLE … DETACH PARTITION (and archive) instead of DROP TABLE, ' +
  'a rename instead of a drop, a batched DELETE with an approval instead of TRUNCATE';
const FIX_PARSE = 'correct the SQL so that PostgreSQL can parse it (the gate uses PostgreSQL 18\'s own parser); nothing else in the file can be checked until then';

function gateFile(file: string, sql: string, facts: Fact[]): GateFinding[] {
  const base = path.basename(file);
  const out: GateFinding[] = [];
  const seen = new Set<string>();
  const add = (line: number, rule: GateRule, message: string, fix: string) => {
    // Several reconstructions of one dynamic statement can say the same thing: report it once.
    const key = `${line}\0${rule}\0${message}`;
    if (!seen.has(key)) out.push({ file, line, rule, message, fix });
    seen.add(key);
  };
  const parsed = !facts.some((f) => f.type === 'parse-error' && f.fatal);

  for (const f of facts) {
    if (f.type === 'parse-error') add(f.line, 'parse-error', f.message, FIX_PARSE);
  }
  if (!base.endsWith(DEV_ONLY_SUFFIX)) {
    for (const f of facts) {
      if (f.type !== 'destructive') continue;
      add(f.line, 'destructive-sql', `${f.what}${describeTarget(f.target)}${describeOrigin(f.origin)} is destructive and this file may run in production`, FIX_DESTRUCTIVE);
    }
  }
  if (base === SAFE_MIGRATION_FILE) {
    if (!sql.includes(SAFE_MIGRATION_BANNER)) {
      add(1, 'safe-banner', `${SAFE_MIGRATION_FILE} lacks the "${SAFE_MIGRATION_BANNER}" banner`,
        `add a header comment "-- ${SAFE_MIGRATION_BANNER}" once the file is non-destructive and idempotent; a migration that is not safe belongs in a file ending in ${DEV_ONLY_SUFFIX}`);
    }
    if (parsed && !facts.some((f) => f.type === 'function' && f.name === PARTITION_HELPER && f.origin.kind === 'static')) {
      add(1, 'partition-helper', `${SAFE_MIGRATION_FILE} does not define the helper function ${PARTITION_HELPER}`,
        `define it in this file: CREATE OR REPLACE FUNCTION ${PARTITION_HELPER}(month date, parent text DEFAULT 'memory_records') RETURNS text LANGUAGE plpgsql …, creating the month's partition with CREATE TABLE IF NOT EXISTS … PARTITION OF …`);
    }
    for (const f of facts) {
      if (f.type !== 'create' || f.ifNotExists) continue;
      add(f.line, 'if-not-exists', `${f.what}${describeTarget(f.target)}${describeOrigin(f.origin)} lacks IF NOT EXISTS, so re-running ${SAFE_MIGRATION_FILE} fails`,
        `add IF NOT EXISTS (${f.what} IF NOT EXISTS …${f.what.endsWith('INDEX') ? '; an index needs a name for that' : ''}) so the safe migration stays idempotent`);
    }
  }
  return out;
}

/** Object names; parts only known at run time show as `<run-time value>`. */
function describeTarget(target: string | undefined): string {
  return target ? ` ${target.split(DUMMY_IDENT).join('<run-time value>')}` : '';
}

function describeOrigin(o: Origin): string {
  const where = o.where ? ` in ${o.where}` : '';
  if (o.kind === 'static') return where;
  if (o.kind === 'dynamic') return ` (dynamic SQL run by ${o.via}${where})`;
  if (o.kind === 'foreign-body') return ` (keywords in a ${o.via} body${where}, which this gate cannot parse)`;
  return ` (keywords in the literal text of dynamic SQL run by ${o.via}${where}; the text does not parse as SQL on its own)`;
}

// ---------------------------------------------------------------------------------------------
// Analysis: what a file does, statement by statement, including SQL inside function bodies and
// SQL built at run time
// ---------------------------------------------------------------------------------------------

/** Where a statement came from: the file's own text, or a string EXECUTE builds at run time. */
interface Origin {
  /**
   * static: the file's own SQL; dynamic: SQL built at run time that parses; dynamic-keywords:
   * run-time SQL that does not parse, judged by the keywords of its literal text; foreign-body:
   * a function body in a language other than SQL or PL/pgSQL, judged the same way.
   */
  kind: 'static' | 'dynamic' | 'dynamic-keywords' | 'foreign-body';
  /** The PL/pgSQL statement that runs dynamic SQL (EXECUTE, PERFORM …) or the body's language. */
  via?: string;
  /** The enclosing body, e.g. `function create_monthly_partition` or `DO block`. */
  where?: string;
}

type Fact =
  | { type: 'destructive'; what: 'DROP TABLE' | 'DROP SCHEMA' | 'TRUNCATE'; target?: string; line: number; origin: Origin }
  | { type: 'create'; what: string; target?: string; ifNotExists: boolean; line: number; origin: Origin }
  | { type: 'function'; name: string; line: number; origin: Origin }
  /** `fatal`: the file itself does not parse (as opposed to one function body in it). */
  | { type: 'parse-error'; message: string; line: number; fatal: boolean };

/**
 * A piece of SQL text and where its bytes sit in the file. libpg-query reports byte offsets into
 * the UTF-8 text; `lineAt` turns one into a 1-based file line. Dynamic SQL has no place in the
 * file: every line of it is the line of the statement that executes it.
 */
class Scope {
  private readonly newlines: number[] = [];
  readonly bytes: Buffer;

  constructor(
    readonly text: string,
    private readonly baseLine: number,
    readonly origin: Origin,
    readonly depth: number,
    private readonly fixedLine?: number,
  ) {
    this.bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < this.bytes.length; i++) if (this.bytes[i] === 0x0a) this.newlines.push(i);
  }

  lineAt(byteOffset: number): number {
    if (this.fixedLine !== undefined) return this.fixedLine;
    let lo = 0;
    let hi = this.newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.newlines[mid] < byteOffset) lo = mid + 1;
      else hi = mid;
    }
    return this.baseLine + lo;
  }

  /** Text nested in this scope (a function body, a statement inside it) starting on `line`. */
  nested(text: string, line: number, where: string | undefined): Scope {
    const outer = this.origin.where;
    const origin = { ...this.origin, where: where && outer ? `${where} inside ${outer}` : (where ?? outer) };
    return new Scope(text, line, origin, this.depth + 1, this.fixedLine);
  }

  /** SQL built at run time by the statement on `line`. */
  dynamic(text: string, line: number, via: string, kind: Exclude<Origin['kind'], 'static'> = 'dynamic'): Scope {
    const at = this.fixedLine ?? line;
    return new Scope(text, at, { kind, via, where: this.origin.where }, this.depth + 1, at);
  }
}

/** Guards against pathological nesting (DO inside EXECUTE inside DO …). */
const MAX_DEPTH = 12;

function analyseFile(sql: string): Fact[] {
  const facts: Fact[] = [];
  analyseSql(new Scope(sql, 1, { kind: 'static' }, 0), facts, true);
  return facts;
}

/**
 * Parses `scope.text` and records what each statement does. Returns false when it does not
 * parse; in a static scope that is a parse-error finding, in a dynamic one the caller falls back
 * to a keyword check.
 */
function analyseSql(scope: Scope, facts: Fact[], fatal = false): boolean {
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

interface RawStmt {
  stmt: Json;
  stmt_location?: number;
  stmt_len?: number;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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

function walkNodes(value: unknown, visit: (type: string, node: Json) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) walkNodes(v, visit);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    // Node wrappers are capitalised (`DropStmt`), fields are not (`removeType`, `if_not_exists`).
    if (/^[A-Z]/.test(key) && isObject(child)) visit(key, child);
    walkNodes(child, visit);
  }
}

function listOf(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isObject(v) && isObject(v.List) && Array.isArray(v.List.items)) return v.List.items;
  return [];
}

function stringValue(v: unknown): string | undefined {
  if (isObject(v) && isObject(v.String) && typeof v.String.sval === 'string') return v.String.sval;
  return undefined;
}

function qualifiedName(v: unknown): string {
  return listOf(v).map(stringValue).filter((s): s is string => s !== undefined).join('.');
}

function rangeVarName(v: unknown): string {
  const rv = isObject(v) && isObject(v.RangeVar) ? v.RangeVar : v;
  if (!isObject(rv)) return '';
  return [rv.schemaname, rv.relname].filter((s) => typeof s === 'string').join('.');
}

function dropTargets(node: Json): string {
  return listOf(node.objects)
    .map((o) => stringValue(o) ?? qualifiedName(o))
    .filter(Boolean)
    .join(', ');
}

function defElemArg(options: unknown, name: string): unknown {
  for (const o of listOf(options)) {
    if (isObject(o) && isObject(o.DefElem) && o.DefElem.defname === name) return o.DefElem.arg;
  }
  return undefined;
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

interface PlpgsqlContext {
  /** The body's scope (its origin names the enclosing function or DO block). */
  scope: Scope;
  /** File line of the body's line 1 (PL/pgSQL line numbers count from the body's start). */
  bodyLine: number;
  /** For each variable (lower-case name): the expressions assigned to it (DECLARE default and :=). */
  assignments: Map<string, string[]>;
  facts: Fact[];
}

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

function exprQuery(v: unknown): string | undefined {
  return isObject(v) && isObject(v.PLpgSQL_expr) && typeof v.PLpgSQL_expr.query === 'string' ? v.PLpgSQL_expr.query : undefined;
}

function walkPlpgsqlStatements(value: unknown, visit: (type: string, stmt: Json) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) walkPlpgsqlStatements(v, visit);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith('PLpgSQL_stmt_') && isObject(child)) visit(key, child);
    walkPlpgsqlStatements(child, visit);
  }
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

// --- Reconstructing run-time SQL from an expression ------------------------------------------

/**
 * One possible value of a dynamic-SQL expression. `sql` has every part unknown before run time
 * replaced by a placeholder identifier or literal so that it can be parsed; `literal` has those
 * parts blanked out, leaving only text written in the file, for the keyword check.
 */
interface Candidate {
  sql: string;
  literal: string;
  /** True when nothing in it is unknown. */
  known: boolean;
}

const DUMMY_IDENT = 'gate_placeholder';
const DUMMY_LITERAL = "'gate_placeholder'";
const MAX_CANDIDATES = 32;
const unknownPart = (sql = DUMMY_IDENT): Candidate => ({ sql, literal: ' ', known: false });

/** Parses a PL/pgSQL expression as `SELECT <expr>` and reconstructs its possible values. */
function candidatesOf(expr: string, ctx: PlpgsqlContext, visiting: Set<string>): Candidate[] {
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
function functionArgumentCandidates(performQuery: string, ctx: PlpgsqlContext): Candidate[] {
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

// --- Keyword check (last resort for text that does not parse) ---------------------------------

/**
 * Looks for DROP TABLE, DROP SCHEMA and TRUNCATE as keywords: tokens from PostgreSQL's scanner,
 * so comments and quoted strings inside the text are skipped and case does not matter.
 */
function keywordCheck(text: string, scope: Scope, facts: Fact[], tokenize: (s: string) => string[] = keywordTokens): void {
  const words = tokenize(text);
  const line = scope.lineAt(0);
  const seen = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    let what: 'DROP TABLE' | 'DROP SCHEMA' | 'TRUNCATE' | undefined;
    if (words[i] === 'TRUNCATE') what = 'TRUNCATE';
    else if (words[i] === 'DROP' && words[i + 1] === 'TABLE') what = 'DROP TABLE';
    else if (words[i] === 'DROP' && words[i + 1] === 'SCHEMA') what = 'DROP SCHEMA';
    if (what && !seen.has(what)) {
      seen.add(what);
      facts.push({ type: 'destructive', what, line, origin: scope.origin });
    }
  }
}

function keywordTokens(text: string): string[] {
  const tokens = scanTokens(text);
  if (tokens) {
    return tokens
      .filter((t) => !['SQL_COMMENT', 'C_COMMENT', 'SCONST', 'USCONST', 'BCONST', 'XCONST'].includes(t.tokenName))
      .map((t) => t.text.toUpperCase());
  }
  // The scanner gave up (an unterminated quote in a fragment …): strip comments, then quoted text.
  const stripped = text
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?(\*\/|$)/g, ' ')
    .replace(/'(?:[^']|'')*'/g, ' ');
  return stripped.toUpperCase().match(/[A-Z_][A-Z0-9_$]*/g) ?? [];
}

/** Words of a body in another language (plpython …), string contents included, `#` comments not. */
function foreignBodyWords(s: string): string[] {
  return s.replace(/#[^\n]*/g, ' ').toUpperCase().match(/[A-Z_][A-Z0-9_$]*/g) ?? [];
}

// --- Scanner helpers --------------------------------------------------------------------------

interface Token {
  start: number;
  end: number;
  text: string;
  tokenName: string;
}

function scanTokens(text: string): Token[] | undefined {
  try {
    return scanSync(text).tokens;
  } catch {
    return undefined;
  }
}

/** Bytes of whitespace and comments before a statement's first token. */
function leadingTriviaBytes(stmtText: string): number {
  const first = scanTokens(stmtText)?.find((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT');
  if (first) return first.start;
  const m = /^(?:\s+|--[^\n]*|\/\*[\s\S]*?\*\/)*/.exec(stmtText);
  return Buffer.byteLength(m ? m[0] : '', 'utf8');
}

function decodeStringToken(text: string): string {
  const dollar = /^\$[^$]*\$/.exec(text);
  if (dollar) return text.slice(dollar[0].length, text.length - dollar[0].length);
  const quoted = /^[A-Za-z&]*'([\s\S]*)'$/.exec(text);
  return quoted ? quoted[1].replace(/''/g, "'") : text;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** libpg-query's error position: a 0-based character offset into the parsed text. */
function errorCursor(err: unknown): number | undefined {
  const details = isObject(err) && isObject(err.sqlDetails) ? err.sqlDetails : undefined;
  return details && typeof details.cursorPosition === 'number' ? details.cursorPosition : undefined;
}
