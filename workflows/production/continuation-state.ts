import { workflowInfo } from '@temporalio/workflow';
import type { HealthReport } from '../../activities/production/health';
import type { InstanceRef } from '../../activities/lib/admin-client';
import { handOver, handOverDue, nextChain, type ChainInfo } from '../common/continuation';
import type { ControllerSnapshot } from '../common/run-controller';
import type { PersistenceMode } from '../types';
import type { ProductionSettings } from '../production-input';
import { compensation, type CompensationKey } from './compensations';
import { startRun, type ProductionCutoverResult, type ProductionLocals, type ProductionRun } from './run';
import type { ProductionStage } from './stages';


/**
 * What one production run carries to the next when its history passes the budget: the
 * operator-facing state (phases, decisions, approvals, rollbacks, notes), the result so far,
 * the fleet and modes, the pending undos (by key), what steps pass to later steps (cursors of
 * the backfill, the window in progress, the parity baselines), and the chain.
 */
export interface ProductionContinuation {
  stage: Exclude<ProductionStage, 'preflight'>;
  registryRunId: string;
  ctl: ControllerSnapshot;
  /** The result without the lists the controller carries (phases, decisions, rollbacks). */
  result: Omit<ProductionCutoverResult, 'phases' | 'decisions' | 'rollbacks'>;
  instances: InstanceRef[];
  startingMode: PersistenceMode;
  currentMode: PersistenceMode | undefined;
  epoch: number;
  lastHealth: HealthReport | undefined;
  saga: CompensationKey[];
  locals: ProductionLocals;
  chain: ChainInfo;
}

/**
 * A safe point: the run is at `stage` (nothing in flight). Past the history budget (and not
 * aborted: an abort rolls back in this run), the run hands over to a new one that resumes here.
 */
export async function checkpoint(run: ProductionRun, stage: Exclude<ProductionStage, 'preflight'>): Promise<void> {
  run.stage = stage;
  if (run.ctl.aborted || !handOverDue(run.input.history)) return;
  await handOver('productionCutover', () => {
    const i = workflowInfo();
    run.ctl.note(`history at ${i.historyLength} events, ${i.historySize} bytes (budget ${run.input.history.maxEvents} events, ${run.input.history.maxBytes} bytes): continuing as new (run ${run.chain.previous.length + 2} of the chain) at ${stage}`);
    return { ...run.rawInput, continued: carry(run, stage) };
  });
}

function carry(run: ProductionRun, stage: Exclude<ProductionStage, 'preflight'>): ProductionContinuation {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { phases, decisions, rollbacks, ...result } = run.result;
  return {
    stage,
    registryRunId: run.runId,
    ctl: run.ctl.snapshot(),
    result,
    instances: run.instances,
    startingMode: run.startingMode,
    currentMode: run.currentMode,
    epoch: run.epoch,
    lastHealth: run.lastHealth,
    saga: run.saga.keys() as CompensationKey[],
    locals: run.locals,
    chain: nextChain(run.chain, stage),
  };
}

/** The run a hand-over continues: a fresh run with the carried state put back. */
export function resumeRun(input: ProductionSettings & { continued: ProductionContinuation }, rawInput: Record<string, unknown>): ProductionRun {
  const c = input.continued;
  // The same object startRun built: the controller's closures (the details' health line) read it.
  // Its controller restored the carried state before installing the handlers.
  const run = startRun(input, rawInput);
  Object.assign(run, {
    runId: c.registryRunId,
    stage: c.stage,
    locals: c.locals,
    chain: c.chain,
    instances: c.instances,
    startingMode: c.startingMode,
    currentMode: c.currentMode,
    epoch: c.epoch,
    lastHealth: c.lastHealth,
    result: {
      ...c.result,
      phases: run.ctl.status.phases,
      decisions: run.ctl.status.decisions,
      rollbacks: run.ctl.status.rollbacks,
      history: { runs: c.chain.previous.length + 1, continuedAt: c.chain.previous },
    },
  } satisfies Partial<ProductionRun>);
  for (const key of c.saga) run.saga.add(compensation(run, key));
  run.ctl.note(`continued from run ${c.chain.previous[c.chain.previous.length - 1]?.runId} at ${c.stage} (run ${c.chain.previous.length + 1} of the chain)`);
  return run;
}
