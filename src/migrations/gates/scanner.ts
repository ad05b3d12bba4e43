import { scanSync } from 'libpg-query';
import type { Fact, Scope } from './facts';

/**
 * The fallback scanner: PostgreSQL's own tokenizer (libpg-query scanSync), used where the parser
 * cannot help — a keyword check over text that does not parse, byte offsets of tokens.
 */

// --- Keyword check (last resort for text that does not parse) ---------------------------------

/**
 * Looks for DROP TABLE, DROP SCHEMA and TRUNCATE as keywords: tokens from PostgreSQL's scanner,
 * so comments and quoted strings inside the text are skipped and case does not matter.
 */
export function keywordCheck(text: string, scope: Scope, facts: Fact[], tokenize: (s: string) => string[] = keywordTokens): void {
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
export function foreignBodyWords(s: string): string[] {
  return s.replace(/#[^\n]*/g, ' ').toUpperCase().match(/[A-Z_][A-Z0-9_$]*/g) ?? [];
}

// --- Scanner helpers --------------------------------------------------------------------------

interface Token {
  start: number;
  end: number;
  text: string;
  tokenName: string;
}

export function scanTokens(text: string): Token[] | undefined {
  try {
    return scanSync(text).tokens;
  } catch {
    return undefined;
  }
}

/** Bytes of whitespace and comments before a statement's first token. */
export function leadingTriviaBytes(stmtText: string): number {
  const first = scanTokens(stmtText)?.find((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT');
  if (first) return first.start;
  const m = /^(?:\s+|--[^\n]*|\/\*[\s\S]*?\*\/)*/.exec(stmtText);
  return Buffer.byteLength(m ? m[0] : '', 'utf8');
}

export function decodeStringToken(text: string): string {
  const dollar = /^\$[^$]*\$/.exec(text);
  if (dollar) return text.slice(dollar[0].length, text.length - dollar[0].length);
  const quoted = /^[A-Za-z&]*'([\s\S]*)'$/.exec(text);
  return quoted ? quoted[1].replace(/''/g, "'") : text;
}
