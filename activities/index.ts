import type { ProfileResolver } from '../src/config/profiles';
import { createSmokeActivities } from './smoke';

/** Everything an activity may need, injected by the worker (or a test). */
export interface ActivityDeps {
  profiles: ProfileResolver;
}

/** All activities the worker registers, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSmokeActivities(deps),
  };
}
export type Activities = ReturnType<typeof createActivities>;
