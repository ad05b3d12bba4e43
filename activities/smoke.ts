import type { ProfileResolver } from '../src/config/profiles';

export function createSmokeActivities(deps: { profiles: ProfileResolver }) {
  return {
    /** Server version and database name of a connection profile. */
    async databaseFacts(profile: string): Promise<{ serverVersion: string; database: string }> {
      return deps.profiles.withClient(profile, async (c) => {
        const r = await c.query<{ v: string; d: string }>(`SELECT current_setting('server_version') AS v, current_database() AS d`);
        return { serverVersion: r.rows[0].v, database: r.rows[0].d };
      });
    },
  };
}
export type SmokeActivities = ReturnType<typeof createSmokeActivities>;
