import type { TestProject } from 'vitest/node';
import { startPostgres, type RunningPostgres } from '../../src/devenv/postgres';
import { startTemporal, type RunningTemporal } from '../../src/devenv/temporal';
import { reportAsError, startAllOrNothing } from '../../src/devenv/setup-error';
import { bundleWorkflowsForTests } from './workflow-bundle';
import fs from 'node:fs';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgPassword: string;
    temporalAddress: string;
    temporalNamespace: string;
    workflowBundlePath: string;
  }
}

let pg: RunningPostgres | undefined;
let temporal: RunningTemporal | undefined;
let bundlePath: string | undefined;

/**
 * Starts one real PostgreSQL and one real Temporal dev server for the whole run. A failure is
 * thrown as the one setup-error report (src/devenv/setup-error.ts): cause and next step.
 */
export async function setup(project: TestProject): Promise<void> {
  const t0 = Date.now();
  try {
    [pg, temporal, bundlePath] = await startAllOrNothing<[RunningPostgres, RunningTemporal, string]>([
      { service: 'the embedded PostgreSQL', start: () => startPostgres(), stop: (p) => p.stop() },
      { service: 'the Temporal dev server', start: () => startTemporal(), stop: (t) => t.stop() },
      { service: 'the workflow bundle', start: () => bundleWorkflowsForTests(), stop: async (f) => fs.rmSync(f, { force: true }) },
    ]);
  } catch (err) {
    throw reportAsError(err, 'npm test (global setup)');
  }
  project.provide('workflowBundlePath', bundlePath);
  project.provide('pgAdminUrl', pg.url);
  project.provide('pgPassword', pg.password);
  project.provide('temporalAddress', temporal.address);
  project.provide('temporalNamespace', temporal.namespace);
  process.stdout.write(
    `[global-setup] postgres ${pg.embedded ? 'embedded' : 'DATABASE_URL'} on port ${pg.port}; ` +
      `temporal ${temporal.address} (cli via ${temporal.cliRoute}) in ${Date.now() - t0} ms\n`,
  );
}

export async function teardown(): Promise<void> {
  await Promise.allSettled([temporal?.stop(), pg?.stop()]);
  if (bundlePath) fs.rmSync(bundlePath, { force: true });
}
