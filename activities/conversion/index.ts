import type { ActivityDeps } from '../index';
import { createAppSyncActivities } from './app-sync';
import { createCopyActivities } from './copy';
import { createParityActivities } from './parity';
import { createPreflightActivities } from './preflight';
import { createShadowActivities } from './shadow';
import { createSwapActivities } from './swap';
import { createGenericConversionActivities } from './generic/activities';
import { createAttachActivities } from './generic/attach';

/** The heap-to-partitioned conversion's activities (runbook: "Heap-to-Partitioned Conversion Procedure"). */
export function createConversionActivities(deps: Pick<ActivityDeps, 'profiles'>) {
  return {
    ...createPreflightActivities(deps),
    ...createShadowActivities(deps),
    ...createCopyActivities(deps),
    ...createParityActivities(deps),
    ...createSwapActivities(deps),
    ...createAppSyncActivities(deps),
    ...createGenericConversionActivities(deps),
    ...createAttachActivities(deps),
  };
}
export type ConversionActivities = ReturnType<typeof createConversionActivities>;
export type { LockRetryOptions } from './locks';
export type { RecordCursor } from '../../src/memory-layer/record';
