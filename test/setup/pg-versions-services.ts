import type { TestProject } from 'vitest/node';
import { Client } from 'pg';
import { setup as startServices, teardown } from './global-services';

export { teardown };

/**
 * The global services of `npm run test:pg-versions` (vitest.pg-versions.config.ts): the suite's
 * own (global-services.ts), then a check that the server is the major the script asked for
 * (`LICHEN_PG_EXPECT_MAJOR`), so a LICHEN_PG_BINARIES that points elsewhere fails loudly
 * instead of testing the wrong version.
 */
export async function setup(project: TestProject): Promise<void> {
  await startServices(project);
  const c = new Client({ connectionString: project.getProvidedContext().pgAdminUrl });
  let num: number;
  try {
    await c.connect();
    num = Number((await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v);
  } finally {
    await c.end().catch(() => undefined);
  }
  const major = Math.floor(num / 10_000);
  const want = process.env.LICHEN_PG_EXPECT_MAJOR;
  if (want && Number(want) !== major) {
    await teardown();
    throw new Error(`test:pg-versions expected PostgreSQL ${want}, but the server is ${num} (LICHEN_PG_BINARIES=${process.env.LICHEN_PG_BINARIES ?? 'unset'})`);
  }
  process.stdout.write(`[pg-versions] server_version_num ${num}\n`);
}
