import { defineConfig } from 'vitest/config';

// `npm run fixtures:histories`: re-records the workflow histories that test/audit/replay.test.ts
// replays. Not part of `npm test` (the recorder writes files); run it after an intentional,
// versioned change of workflow code, review the diff and commit the fixtures.
export default defineConfig({
  test: {
    include: ['test/audit/record-histories.ts', 'test/audit/record-conversion-histories.ts'],
    globalSetup: ['test/setup/global-services.ts'],
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
