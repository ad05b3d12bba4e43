/**
 * The reader of a user's JSON input: each failure names the field (a dotted path) and what is
 * allowed. Pure and deterministic, no Node built-ins and no I/O: workflows (through
 * workflows/common/validate.ts, which turns an InputError into the InvalidInput failure), the
 * conversion choice (src/conversion/choice/) and the tools read inputs with it.
 */
export class InputError extends Error {
  constructor(
    public readonly field: string,
    public readonly allowed: string,
  ) {
    super(`${field}: ${allowed}`);
    this.name = 'InputError';
  }
}

type Obj = Record<string, unknown>;

/** Plain ASCII identifiers only: no look-alikes, no quoting games, no SQL. */
export const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export class Reader {
  constructor(
    private readonly obj: Obj,
    private readonly path: string,
  ) {}

  static root(input: unknown, what: string): Reader {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new InputError(what, 'must be one JSON object');
    }
    return new Reader(input as Obj, '');
  }

  private f(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  /** Rejects fields not in `known` (typos must not silently fall back to defaults). */
  only(known: readonly string[]): this {
    for (const k of Object.keys(this.obj)) {
      if (!known.includes(k)) throw new InputError(this.f(k), `unknown field; allowed fields: ${known.join(', ')}`);
    }
    return this;
  }

  /** The object as given (for a field the workflow writes itself, e.g. `continued`). */
  raw(): Obj {
    return this.obj;
  }

  fail(name: string, allowed: string): never {
    throw new InputError(this.f(name), allowed);
  }

  has(name: string): boolean {
    return this.obj[name] !== undefined;
  }

  string(name: string, opts: { default?: string; pattern?: RegExp; allowed?: string; max?: number } = {}): string {
    const v = this.obj[name];
    if (v === undefined) {
      if (opts.default !== undefined) return opts.default;
      throw new InputError(this.f(name), `required; ${opts.allowed ?? 'a string'}`);
    }
    if (typeof v !== 'string') throw new InputError(this.f(name), `must be a string (${opts.allowed ?? 'text'}), got ${typeName(v)}`);
    if (v.length > (opts.max ?? 200)) throw new InputError(this.f(name), `at most ${opts.max ?? 200} characters`);
    if (opts.pattern && !opts.pattern.test(v)) throw new InputError(this.f(name), opts.allowed ?? `must match ${opts.pattern}`);
    return v;
  }

  enumOf<T extends string>(name: string, values: readonly T[], dflt?: T): T {
    const v = this.obj[name];
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      throw new InputError(this.f(name), `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
    }
    return v as T;
  }

  bool(name: string, dflt: boolean): boolean {
    const v = this.obj[name];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') throw new InputError(this.f(name), `must be true or false, got ${typeName(v)}`);
    return v;
  }

  int(name: string, opts: { default?: number; min: number; max: number }): number {
    const v = this.obj[name];
    if (v === undefined) {
      if (opts.default !== undefined) return opts.default;
      throw new InputError(this.f(name), `required; an integer from ${opts.min} to ${opts.max}`);
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new InputError(this.f(name), `must be an integer from ${opts.min} to ${opts.max}, got ${typeName(v)}`);
    if (v < opts.min || v > opts.max) throw new InputError(this.f(name), `must be an integer from ${opts.min} to ${opts.max}, got ${v}`);
    return v;
  }

  num(name: string, opts: { default?: number; min: number; max: number }): number {
    const v = this.obj[name];
    if (v === undefined) {
      if (opts.default !== undefined) return opts.default;
      throw new InputError(this.f(name), `required; a number from ${opts.min} to ${opts.max}`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(this.f(name), `must be a number from ${opts.min} to ${opts.max}, got ${typeName(v)}`);
    if (v < opts.min || v > opts.max) throw new InputError(this.f(name), `must be a number from ${opts.min} to ${opts.max}, got ${v}`);
    return v;
  }

  /** An ISO-8601 instant. */
  instant(name: string): string | undefined {
    const v = this.obj[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) || Number.isNaN(Date.parse(v))) {
      throw new InputError(this.f(name), 'must be an ISO-8601 date or timestamp such as "2027-01-31T12:00:00Z"');
    }
    return v;
  }

  object(name: string, required = false): Reader | undefined {
    const v = this.obj[name];
    if (v === undefined) {
      if (required) throw new InputError(this.f(name), 'required; an object');
      return undefined;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError(this.f(name), `must be an object, got ${typeName(v)}`);
    return new Reader(v as Obj, this.f(name));
  }

  array(name: string, opts: { max: number; min?: number }): Reader[] | undefined {
    const v = this.obj[name];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw new InputError(this.f(name), `must be an array, got ${typeName(v)}`);
    if (v.length > opts.max || v.length < (opts.min ?? 0)) throw new InputError(this.f(name), `must hold ${opts.min ?? 0} to ${opts.max} items, got ${v.length}`);
    return v.map((item, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new InputError(`${this.f(name)}[${i}]`, `must be an object, got ${typeName(item)}`);
      return new Reader(item as Obj, `${this.f(name)}[${i}]`);
    });
  }

  stringArray(name: string, opts: { max: number; pattern: RegExp; allowed: string }): string[] | undefined {
    const v = this.obj[name];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length > opts.max) throw new InputError(this.f(name), `must be an array of at most ${opts.max} strings`);
    return v.map((s, i) => {
      if (typeof s !== 'string' || !opts.pattern.test(s)) throw new InputError(`${this.f(name)}[${i}]`, opts.allowed);
      return s;
    });
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v;
}
