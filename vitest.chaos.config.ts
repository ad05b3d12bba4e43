import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Files in name order, with the secrets scan last: it reads what every other scenario left behind. */
class ChaosSequencer extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const key = (f: TestSpecification) => `${f.moduleId.includes('secrets-scan') ? '1' : '0'}${f.moduleId}`;
    return [...files].sort((a, b) => key(a).localeCompare(key(b)));
  }
}

// `npm run test:chaos`: its own embedded Postgres and Temporal dev server (persistence file),
// which the scenarios kill and restart, so files run one at a time. The hostile-input, guard,
// admin-auth and secrets files of test/hostile run here too (they also run in `npm test`).
// Bounded: every file has explicit timeouts; the whole suite takes about 10 minutes.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts', 'test/hostile/**/*.test.ts'],
    globalSetup: ['test/chaos/setup/global.ts'],
    setupFiles: ['test/setup/runtime.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    sequence: { sequencer: ChaosSequencer },
    testTimeout: 240_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
