import { defineConfig } from 'vitest/config';
import base from './vitest.config';

// `npm run test:pg-versions` (scripts/test-pg-versions.ts) runs this once per PostgreSQL major,
// with LICHEN_PG_BINARIES pointing at that major's tree: the conversion zoo, the catalog readers'
// tests (versions.test.ts, pg-catalog.test.ts), the hostile-schema corpus (any
// test/conversion/hostile-schemas*.test.ts), mode attach (test/conversion/generic-attach*.test.ts: the run, its attacks, the
// gate against the bound, workers killed inside the index build and inside the swap back's key rebuild; the hostile corpus
// attached), pagila's rental, the worker-ownership blockers, memory_records' conversion on the one engine
// (test/conversion/conversion.test.ts), one production cutover and table maintenance.
// Files are picked by pattern, so a file added under these names runs here too.
export default defineConfig({
  test: {
    ...base.test,
    include: [
      'test/conversion/generic/zoo.test.ts',
      'test/conversion/generic/zoo-attach.test.ts',
      'test/conversion/generic-attach*.test.ts',
      'test/conversion/hostile-attach.test.ts',
      'test/conversion/generic/versions.test.ts',
      'test/shared/pg-catalog.test.ts',
      'test/conversion/hostile-schemas*.test.ts',
      'test/conversion/pagila-rental.test.ts',
      'test/conversion/conversion.test.ts',
      'test/conversion/generic/worker-owner.test.ts',
      'test/production/happy-path.test.ts',
      'test/maintenance/*.test.ts',
    ],
    exclude: ['node_modules/**'],
    globalSetup: ['test/setup/pg-versions-services.ts'],
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
