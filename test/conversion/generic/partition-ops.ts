import { afterAll } from 'vitest';
import { createProfileResolver } from '../../../src/config/profiles';
import { createTableMaintenanceActivities } from '../../../activities/maintenance-table';
import type { PartitionOps } from '../../../activities/conversion/generic/partitions';

/**
 * The run's partition operations (settlePending, premake) against a test file's database, as the
 * worker builds them: one profile resolver per file, closed after it. Call at the file's top level.
 */
export function usePartitionOps(url: () => string): () => PartitionOps {
  let profiles: ReturnType<typeof createProfileResolver> | undefined;
  afterAll(async () => profiles?.close());
  return () => {
    profiles ??= createProfileResolver({ default: url() });
    return { profile: 'default', pool: profiles.pool('default'), premake: createTableMaintenanceActivities({ profiles }).premakeTablePartitions, lockTimeoutMs: 200 };
  };
}
