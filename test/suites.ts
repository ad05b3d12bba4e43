/**
 * Which test files run in which suite. `npm test` (vitest.config.ts) runs every file under test/
 * but the browser (test/e2e), chaos (test/chaos) and the long scenarios below;
 * `npm run test:long` (vitest.long.config.ts) runs the long scenarios. `.ci/run` runs both.
 *
 * A long scenario is a production run that takes a minute or more on 2 cores because it drives a
 * whole fleet through a phase several times (membership joins and leaves, reconciles before each
 * switch, pauses across a hand-over, real 24–48 h windows on the time-skipping server, a fault
 * seed the chaos suite also runs) or starts a real Prometheus. Each stays a test of the project:
 * moving a file here changes when it runs, never whether CI runs it.
 */
export const LONG_SCENARIOS = [
  'test/production/long-windows.test.ts',
  'test/production/monitoring-issues.test.ts',
  'test/production/pause-across-handover.test.ts',
  'test/production/membership-join.test.ts',
  'test/production/membership-forget.test.ts',
  'test/production/reconcile-before-switch.test.ts',
  'test/production/random-schedule.test.ts',
  'test/observability/prometheus.test.ts',
];
