/**
 * Small, careful edits of SQL that Postgres rendered (pg_get_indexdef, pg_get_constraintdef):
 * finding the parenthesis that closes a list, skipping quoted identifiers, string literals and
 * nested parentheses. Anything unexpected throws: a definition is never guessed at.
 */
export class SqlTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlTextError';
  }
}

/** Index of the ")" closing the "(" at `open`. */
export function matchingParen(s: string, open: number): number {
  if (s[open] !== '(') throw new SqlTextError(`expected "(" at ${open} of ${JSON.stringify(s)}`);
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"' || ch === "'") {
      const close = s.indexOf(ch, i + 1);
      if (close < 0) throw new SqlTextError(`unterminated ${ch} in ${JSON.stringify(s)}`);
      i = close; // a doubled quote ("" or '') is read as two adjacent quoted parts: same effect
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  throw new SqlTextError(`unbalanced parentheses in ${JSON.stringify(s)}`);
}

/** Appends `extra` to the first parenthesised list of `def` (a constraint definition such as `UNIQUE (a, b) INCLUDE (c)`). */
export function appendToFirstList(def: string, extra: string): string {
  const open = def.indexOf('(');
  if (open < 0) throw new SqlTextError(`no column list in ${JSON.stringify(def)}`);
  const close = matchingParen(def, open);
  return `${def.slice(0, close)}, ${extra}${def.slice(close)}`;
}

/**
 * A CREATE INDEX statement of pg_get_indexdef moved onto another table under another name:
 * `CREATE [UNIQUE] INDEX <name> ON <table> USING <method> (…) …` → the same from ` USING` on.
 * `extraKey` is appended to the key list (not to INCLUDE).
 */
export function retargetIndexDef(def: string, method: string, name: string, table: string, extraKey?: string): string {
  const m = /^CREATE (UNIQUE )?INDEX /.exec(def);
  if (!m) throw new SqlTextError(`not a CREATE INDEX statement: ${JSON.stringify(def)}`);
  const onAt = def.indexOf(' ON ');
  const usingAt = def.indexOf(` USING ${method} (`, onAt);
  if (onAt < 0 || usingAt < 0) throw new SqlTextError(`cannot find " ON … USING ${method} (" in ${JSON.stringify(def)}`);
  let tail = def.slice(usingAt);
  if (extraKey) {
    const open = tail.indexOf('(');
    const close = matchingParen(tail, open);
    tail = `${tail.slice(0, close)}, ${extraKey}${tail.slice(close)}`;
  }
  return `CREATE ${m[1] ?? ''}INDEX ${name} ON ${table}${tail}`;
}

/** A CREATE TRIGGER statement of pg_get_triggerdef: its table (after " ON ") replaced. */
export function retargetTriggerDef(def: string, from: string, to: string): string {
  const at = def.indexOf(` ON ${from} `);
  if (!def.startsWith('CREATE ') || at < 0) throw new SqlTextError(`cannot find " ON ${from} " in ${JSON.stringify(def)}`);
  return `${def.slice(0, at)} ON ${to} ${def.slice(at + from.length + 5)}`;
}
