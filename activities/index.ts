import type { ProfileResolver } from '../src/config/profiles';
import type { SecretResolver } from '../src/config/secrets';
import { createProductionActivities } from './production';
import { createSmokeActivities } from './smoke';
import { createConversionActivities } from './conversion';
import { createMaintenanceActivities } from './maintenance';

/** Everything an activity may need, injected by the worker (or a test). */
export interface ActivityDeps {
  profiles: ProfileResolver;
  secrets: SecretResolver;
}

/** All activities the worker registers, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSmokeActivities(deps),
    ...createProductionActivities(deps),
    ...createConversionActivities(deps),
    ...createMaintenanceActivities(deps),
  };
}
export type Activities = ReturnType<typeof createActivities>;
