import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit-codes';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Options every command accepts. */
export const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  address: { type: 'string' },
  namespace: { type: 'string' },
  'temporal-profile': { type: 'string' },
} as const satisfies OptionSpec;

export interface Parsed {
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
}

/** Strict parsing: an unknown option or a missing value is a usage error naming it. */
export function parse(cmd: string, argv: string[], options: OptionSpec): Parsed {
  try {
    const r = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
    return { positionals: r.positionals, values: r.values as Parsed['values'] };
  } catch (err) {
    const allowed = Object.keys({ ...options, ...GLOBAL_OPTIONS }).map((k) => `--${k}`).join(', ');
    throw new UsageError(`${cmd}: ${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}; allowed options: ${allowed}`);
  }
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

export function requireStr(cmd: string, p: Parsed, name: string, what: string): string {
  const v = str(p, name);
  if (v === undefined || v.trim() === '') throw new UsageError(`${cmd}: --${name} is required (${what})`);
  return v;
}

export function num(cmd: string, p: Parsed, name: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    const range = `${opts.integer ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}`;
    throw new UsageError(`${cmd}: --${name} must be ${range}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Exactly `n` positionals, named in the message when missing. */
export function positionals(cmd: string, p: Parsed, names: string[], optional = 0): string[] {
  const min = names.length - optional;
  if (p.positionals.length < min) throw new UsageError(`${cmd}: missing ${names.slice(p.positionals.length, min).map((n) => `<${n}>`).join(' ')}; usage: cutover ${cmd} ${names.map((n, i) => (i >= min ? `[${n}]` : `<${n}>`)).join(' ')}`);
  if (p.positionals.length > names.length) throw new UsageError(`${cmd}: unexpected argument ${JSON.stringify(p.positionals[names.length])}`);
  return p.positionals;
}
