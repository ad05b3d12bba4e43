import { defineConfig } from 'vitest/config';
import base from './vitest.config';
import { LONG_SCENARIOS } from './test/suites';

// `npm run test:long`: the long production scenarios (test/suites.ts) on the same global set-up
// as `npm test` (one embedded Postgres, one Temporal dev server, a database per file).
export default defineConfig({ test: { ...base.test, include: LONG_SCENARIOS, exclude: ['node_modules/**'] } });
