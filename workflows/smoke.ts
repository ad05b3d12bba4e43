import { proxyActivities } from '@temporalio/workflow';
import type { SmokeActivities } from '../activities/smoke';
import { acceptContinued } from './common/continuation';

const { databaseFacts } = proxyActivities<SmokeActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

/**
 * Smoke test of the plumbing: one activity that queries the real Postgres of a profile. It never
 * continues as new, so a `continued` in its input (copied from another workflow's chain) is
 * refused naming the field before the activity, like in every other workflow type.
 */
export async function smokeWorkflow(input: { connectionProfile: string; continued?: unknown }): Promise<{ serverVersion: string; database: string }> {
  acceptContinued(input.continued);
  return databaseFacts(input.connectionProfile);
}
