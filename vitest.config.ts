import { defineConfig } from 'vitest/config';
import { LONG_SCENARIOS } from './test/suites';

// `npm test`: one embedded Postgres and one Temporal dev server per run (global setup);
// each test file gets its own database and its own task queue. Browser (test/e2e), chaos
// (test/chaos) and the long production scenarios (test/suites.ts, `npm run test:long`) have
// their own configs and scripts; `.ci/run` runs them all.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/chaos/**', 'node_modules/**', ...LONG_SCENARIOS],
    globalSetup: ['test/setup/global-services.ts'],
    setupFiles: ['test/setup/runtime.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 3, minForks: 1 } },
    testTimeout: 180_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
