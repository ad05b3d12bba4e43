import type { ProductionCutoverInput } from '../../workflows/production-input';

/**
 * The demo's run: unattended (no approval gates) and short. `nonProduction` is what allows a
 * monitoring window of half a minute instead of the runbook's 24–48 h.
 */
export function demoInput(windowMinutes = 0.5): ProductionCutoverInput {
  return {
    nonProduction: true,
    monitoring: { windowMinutes, healthCheckEveryMinutes: 0.1 },
    approvals: { beforeSwitchPrimary: false, beforeFinalCutover: false },
    backfill: { batchSize: 500, chunkRows: 1000, parallelism: 2 },
    // The demo shares two cores with Postgres, Temporal, the apps, the worker and the load:
    // latency ratios there say little about the migration, so only a gross regression fails it.
    health: { maxLatencyRatio: 50 },
  };
}

/**
 * What the README tells operators to paste into the Temporal UI's *Start Workflow* form
 * (workflow type `productionCutover`), and what the browser test pastes: a short
 * non-production run that stops for one approval before the final cutover.
 */
export const UI_START_INPUT: ProductionCutoverInput = {
  nonProduction: true,
  monitoring: { windowMinutes: 0.2, healthCheckEveryMinutes: 0.05 },
  approvals: { beforeSwitchPrimary: false, beforeFinalCutover: true },
  health: { maxLatencyRatio: 50 },
};

/** The approval sent from the UI's *Send an Update* dialog (update `approve`). */
export const UI_APPROVAL = { operator: 'e2e', reason: 'approved from the UI' };
