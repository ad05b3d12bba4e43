import type { PoolClient } from 'pg';
import { createProfileResolver, PROFILE_NAME_PATTERN } from '../config/profiles';
import { UsageError } from './exit-codes';
import type { Parsed } from './args';
import { str } from './args';

/**
 * The database of the hand-run commands, named by a connection profile — never a URL on the
 * command line (it would land in shell history and process lists). `--profile NAME` resolves
 * through LICHEN_DB_PROFILE_<NAME>, and "default" also through DATABASE_URL.
 */
export function profileOf(cmd: string, args: Parsed): string {
  const p = str(args, 'profile') ?? 'default';
  if (!PROFILE_NAME_PATTERN.test(p)) throw new UsageError(`${cmd}: --profile must be a profile name ([a-z][a-z0-9_-]*), not a URL; set LICHEN_DB_PROFILE_<NAME> in the environment`);
  return p;
}

export async function withProfileClient<T>(profile: string, cb: (c: PoolClient) => Promise<T>): Promise<T> {
  const profiles = createProfileResolver();
  try {
    return await profiles.withClient(profile, cb);
  } finally {
    await profiles.close();
  }
}
