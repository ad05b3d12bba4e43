import type { ActivityDeps } from '../index';
import { createBackfillActivities } from './backfill';
import { createHealthActivities } from './health';
import { createMembershipActivities } from './membership';
import { createMigrateActivities } from './migrate';
import { createModeActivities } from './modes';
import { createPreflightActivities } from './preflight';
import { createQuarantineActivities } from './quarantine';
import { createVerifyActivities } from './verify';

/** The production cutover's activities, one file per runbook step. */
export function createProductionActivities(deps: ActivityDeps) {
  return {
    ...createPreflightActivities(deps),
    ...createModeActivities(deps),
    ...createMembershipActivities(deps),
    ...createBackfillActivities(deps),
    ...createVerifyActivities(deps),
    ...createMigrateActivities(deps),
    ...createHealthActivities(deps),
    ...createQuarantineActivities(deps),
  };
}
export type ProductionActivities = ReturnType<typeof createProductionActivities>;
