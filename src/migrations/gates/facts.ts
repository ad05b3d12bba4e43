/**
 * What the analysis records about a migration file (facts) and where a piece of SQL text sits
 * in it (Scope). Shared by the parse-tree analysis, the dynamic-SQL reconstruction, the fallback
 * scanner and the rules.
 */

/** Where a statement came from: the file's own text, or a string EXECUTE builds at run time. */
export interface Origin {
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

export type Fact =
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
export class Scope {
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
export const MAX_DEPTH = 12;

export interface PlpgsqlContext {
  /** The body's scope (its origin names the enclosing function or DO block). */
  scope: Scope;
  /** File line of the body's line 1 (PL/pgSQL line numbers count from the body's start). */
  bodyLine: number;
  /** For each variable (lower-case name): the expressions assigned to it (DECLARE default and :=). */
  assignments: Map<string, string[]>;
  facts: Fact[];
}
