import { Pool, type PoolClient } from 'pg';
import { checkout } from './pg-checkout';

/**
 * Connection profiles. Workflow inputs name a profile ("default", "staging", …), never a
 * password; the worker resolves the name to credentials here, so no secret reaches a workflow
 * history or a log.
 *
 * Resolution, first match wins:
 *   1. profiles registered in code (tests, the demo: `registerProfile`);
 *   2. `LICHEN_DB_PROFILE_<NAME>` (upper-cased, `-` → `_`): a postgres:// URL;
 *   3. the profile `default`: `DATABASE_URL`.
 */
export const PROFILE_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;

export class UnknownProfileError extends Error {
  constructor(name: string) {
    super(
      `connection profile ${JSON.stringify(name)} is not configured on this worker: set ` +
        `LICHEN_DB_PROFILE_${name.toUpperCase().replace(/-/g, '_')} (a postgres:// URL)` +
        (name === 'default' ? ' or DATABASE_URL' : '') + ' in the worker\'s environment',
    );
    this.name = 'UnknownProfileError';
  }
}

export interface ProfileResolver {
  /** The connection URL of a profile (contains credentials: never log it). */
  url(name: string): string;
  /** A shared pool per profile. */
  pool(name: string): Pool;
  withClient<T>(name: string, cb: (c: PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function createProfileResolver(explicit: Record<string, string> = {}, env: NodeJS.ProcessEnv = process.env): ProfileResolver {
  const pools = new Map<string, Pool>();
  const url = (name: string): string => {
    if (!PROFILE_NAME_PATTERN.test(name)) throw new UnknownProfileError(name);
    const found = explicit[name] ?? env[`LICHEN_DB_PROFILE_${name.toUpperCase().replace(/-/g, '_')}`] ?? (name === 'default' ? env.DATABASE_URL : undefined);
    if (!found) throw new UnknownProfileError(name);
    return found;
  };
  const pool = (name: string): Pool => {
    let p = pools.get(name);
    if (!p) {
      p = new Pool({ connectionString: url(name), max: 12, application_name: `lichen-cutover:${name}` });
      p.on('error', () => undefined); // idle-client errors (server restarts) surface on the next query
      // The worker's SQL reads month boundaries and date literals in UTC, whatever the role's,
      // the database's or the URL's TimeZone (queued before the client's first query). And it
      // sees every row or fails: with row_security off a policy that would hide a row from this
      // role raises an error instead of filtering (the plan refuses such a role up front:
      // activities/conversion/plan/row-security.ts).
      p.on('connect', (c) => void c.query(`SET TIME ZONE 'UTC'; SET row_security = off`).catch(() => undefined));
      pools.set(name, p);
    }
    return p;
  };
  return {
    url,
    pool,
    async withClient(name, cb) {
      const c = await checkout(pool(name));
      try {
        return await cb(c);
      } finally {
        c.release();
      }
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.allSettled(all.map((p) => p.end()));
    },
  };
}
