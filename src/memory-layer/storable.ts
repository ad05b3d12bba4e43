import type { MemoryRecord } from './record';

/**
 * What Postgres can hold (the rule the records API enforces at the door, http/validate.ts, and
 * the one the memory store applies to records it already holds: loaded before the rule, or
 * restored from an old snapshot). text cannot contain NUL (U+0000), jsonb refuses `\u0000`, and
 * a lone UTF-16 surrogate is not valid UTF-8 (the driver would silently turn it into U+FFFD).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Deepest metadata nesting accepted (Postgres' jsonb parser has its own, stack-bound limit). */
export const MAX_JSON_DEPTH = 64;

/** Why Postgres cannot store `v` in `field`, or null. */
export function unstorableText(v: string, field: string): string | null {
  const nul = v.indexOf('\u0000');
  if (nul >= 0) return `${field} contains a NUL character (U+0000) at index ${nul}; Postgres text cannot store it`;
  if (LONE_SURROGATE.test(v)) return `${field} contains a lone UTF-16 surrogate; only well-formed Unicode text can be stored`;
  return null;
}

/** The first field of a JSON value Postgres' jsonb cannot hold (keys, strings, nesting), or null. */
export function unstorableJson(v: unknown, path: string, depth = 0, maxDepth = MAX_JSON_DEPTH): { field: string; reason: string } | null {
  if (typeof v === 'string') {
    const r = unstorableText(v, path);
    return r ? { field: path, reason: r } : null;
  }
  if (!v || typeof v !== 'object') return null;
  if (depth > maxDepth) return { field: 'metadata', reason: `metadata nests objects and arrays deeper than ${maxDepth} levels (at ${path.slice(0, 200)}…)` };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const bad = unstorableJson(v[i], `${path}[${i}]`, depth + 1, maxDepth);
      if (bad) return bad;
    }
    return null;
  }
  for (const [k, x] of Object.entries(v)) {
    const at = `${path}.${/^[\w$-]{1,40}$/.test(k) ? k : JSON.stringify(k.slice(0, 40))}`;
    const key = unstorableText(k, `${at} (key)`);
    if (key) return { field: `${at} (key)`, reason: key };
    const bad = unstorableJson(x, at, depth + 1, maxDepth);
    if (bad) return bad;
  }
  return null;
}

/**
 * Why Postgres would refuse this record (its first such field), or null when it can store it.
 * Only what Postgres itself refuses (NUL, lone surrogates): the API's nesting limit is a policy
 * for new writes, and a deeply nested record already held is stored by Postgres as it is.
 */
export function whyUnstorable(r: Pick<MemoryRecord, 'ownerId' | 'agentId' | 'kind' | 'content' | 'metadata'>): { field: string; reason: string } | null {
  for (const [field, v] of [['ownerId', r.ownerId], ['agentId', r.agentId], ['kind', r.kind], ['content', r.content]] as const) {
    if (typeof v !== 'string') continue;
    const reason = unstorableText(v, field);
    if (reason) return { field, reason };
  }
  return unstorableJson(r.metadata ?? {}, 'metadata', 0, Number.POSITIVE_INFINITY);
}
