import type { ActivityDeps } from '../index';
import { applyPlan, MigrationChangedError, MigrationFailedError } from '../../src/migrations/runner';
import { nonRetryable } from '../lib/errors';
import { listPartitions } from '../../src/shared/pg-catalog';

export interface MigrateResult {
  reapplied: string[];
  partitions: { name: string; bounds: string }[];
  helperExists: boolean;
  futurePartition: string;
}

export function createMigrateActivities(deps: ActivityDeps) {
  return {
    /**
     * The runbook's steps 3 and 4: re-apply the safe migration (idempotent), then verify the
     * partition setup: list partitions, the helper exists, a partition for now + 3 months can
     * be created. A SQL error in the migration is non-retryable (MigrationFailedError): the
     * workflow pauses for an operator instead of guessing; connection errors are retried.
     */
    async migrateAndCheck(input: { connectionProfile: string; target: string }): Promise<MigrateResult> {
      let reapplied: string[];
      try {
        const results = await deps.profiles.withClient(input.connectionProfile, (c) => applyPlan(c, 'partitioned', { reapply: true, appliedBy: 'productionCutover' }));
        reapplied = results.map((r) => r.name);
      } catch (err) {
        if (err instanceof MigrationFailedError || err instanceof MigrationChangedError) throw nonRetryable(err.name, err.message);
        throw err;
      }
      const pool = deps.profiles.pool(input.connectionProfile);
      const helper = await pool.query(`SELECT proname FROM pg_proc WHERE proname = 'create_monthly_partition'`);
      if (helper.rowCount === 0) throw nonRetryable('MigrationFailedError', 'create_monthly_partition does not exist after the safe migration');
      const future = await pool.query<{ p: string }>(`SELECT create_monthly_partition((now() + interval '3 months')::date) AS p`);
      const partitions = (await listPartitions(deps.profiles.pool(input.connectionProfile), input.target)).map((p) => ({ name: p.name, bounds: p.bounds }));
      if (!partitions.some((p) => p.name === future.rows[0].p)) {
        throw nonRetryable('MigrationFailedError', `the partition ${future.rows[0].p} for now + 3 months was not created`);
      }
      return { reapplied, partitions, helperExists: true, futurePartition: future.rows[0].p };
    },
  };
}
