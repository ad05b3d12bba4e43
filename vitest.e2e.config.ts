import { defineConfig } from 'vitest/config';

// `npm run test:e2e`: the browser suite. Each file brings up its own stack (embedded Postgres,
// the Temporal dev server with its Web UI, memory-layer instances, a worker) and drives the
// UI with Debian's chromium through playwright-core. Screenshots go to test-artifacts/e2e/.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 240_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
