import { proxyActivities } from '@temporalio/workflow';
import type { SmokeActivities } from '../activities/smoke';

const { databaseFacts } = proxyActivities<SmokeActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

/** Smoke test of the plumbing: one activity that queries the real Postgres of a profile. */
export async function smokeWorkflow(input: { connectionProfile: string }): Promise<{ serverVersion: string; database: string }> {
  return databaseFacts(input.connectionProfile);
}
