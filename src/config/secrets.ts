/**
 * Admin-token references. Workflow inputs name a token reference ("default", "fleet-a"), never
 * the token; the worker resolves it here. Registered values win, then
 * `LICHEN_ADMIN_TOKEN_<REF>` (upper-cased, `-` → `_`), then `LICHEN_ADMIN_TOKEN` for "default".
 */
export const TOKEN_REF_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;

export interface SecretResolver {
  adminToken(ref: string): string;
}

export class UnknownSecretError extends Error {
  constructor(ref: string) {
    super(`admin token reference ${JSON.stringify(ref)} is not configured on this worker: set LICHEN_ADMIN_TOKEN_${ref.toUpperCase().replace(/-/g, '_')}` +
      (ref === 'default' ? ' or LICHEN_ADMIN_TOKEN' : '') + ' in the worker\'s environment');
    this.name = 'UnknownSecretError';
  }
}

export function createSecretResolver(explicit: Record<string, string> = {}, env: NodeJS.ProcessEnv = process.env): SecretResolver {
  return {
    adminToken(ref) {
      if (!TOKEN_REF_PATTERN.test(ref)) throw new UnknownSecretError(ref);
      const v = explicit[ref] ?? env[`LICHEN_ADMIN_TOKEN_${ref.toUpperCase().replace(/-/g, '_')}`] ?? (ref === 'default' ? env.LICHEN_ADMIN_TOKEN : undefined);
      if (!v) throw new UnknownSecretError(ref);
      return v;
    },
  };
}
