/**
 * Redaction for anything the worker logs: connection URLs lose their password, and known
 * secret-bearing settings are never printed at all. The worker's environment holds database
 * URLs and admin tokens; its logs must not.
 */

/** `postgres://user:secret@host:5432/db` → `postgres://user:***@host:5432/db`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/pass|secret|token|key/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}

/** Scrubs credentials embedded in free text (error messages quoting a connection string). */
export function redactText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1***@');
}

/** The database profiles configured in `env`, by name, with their URLs redacted. */
export function describeProfiles(env: NodeJS.ProcessEnv): { profile: string; url: string; from: string }[] {
  const out: { profile: string; url: string; from: string }[] = [];
  for (const [k, v] of Object.entries(env)) {
    const m = /^LICHEN_DB_PROFILE_([A-Z0-9_]+)$/.exec(k);
    if (m && v) out.push({ profile: m[1].toLowerCase(), url: redactUrl(v), from: k });
  }
  if (env.DATABASE_URL && !out.some((p) => p.profile === 'default')) out.push({ profile: 'default', url: redactUrl(env.DATABASE_URL), from: 'DATABASE_URL' });
  return out.sort((a, b) => a.profile.localeCompare(b.profile));
}

/** Token references configured in `env` (names only, never values). */
export function describeTokenRefs(env: NodeJS.ProcessEnv): string[] {
  const refs = Object.keys(env)
    .map((k) => /^LICHEN_ADMIN_TOKEN_([A-Z0-9_]+)$/.exec(k)?.[1]?.toLowerCase())
    .filter((x): x is string => !!x);
  if (env.LICHEN_ADMIN_TOKEN && !refs.includes('default')) refs.push('default');
  return refs.sort();
}
