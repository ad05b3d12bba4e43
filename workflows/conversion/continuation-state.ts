import { workflowInfo } from '@temporalio/workflow';
import { handOver, handOverDue, nextChain, type ChainInfo } from '../common/continuation';
import type { ControllerSnapshot } from '../common/run-controller';
import type { ConversionSettings } from '../conversion-input';
import { conversionCompensation, type ConversionCompensationKey } from './compensations';
import { startConversion, type ConversionLocals, type ConversionRun, type ConversionSummary } from './run';
import type { ConversionStage } from './stages';

/**
 * What one memory_records conversion run carries to the next when its history passes the
 * budget (workflows/common/continuation.ts): the controller's state, the summary so far, the
 * pending undos by key, the copy's cursor or the retention window in progress, and the chain.
 */
export interface ConversionContinuation {
  stage: Exclude<ConversionStage, 'preflight'>;
  registryRunId: string;
  registered: boolean;
  ctl: ControllerSnapshot;
  summary: Omit<ConversionSummary, 'phases' | 'decisions' | 'rollbacks'>;
  saga: ConversionCompensationKey[];
  locals: ConversionLocals;
  chain: ChainInfo;
}

/** A safe point at `stage`: past the history budget (and not aborted) the run hands over. */
export async function conversionCheckpoint(run: ConversionRun, stage: Exclude<ConversionStage, 'preflight'>): Promise<void> {
  run.stage = stage;
  if (run.ctl.aborted || !handOverDue(run.s.history)) return;
  await handOver('heapToPartitionedConversion', () => {
    const i = workflowInfo();
    run.ctl.note(`history at ${i.historyLength} events, ${i.historySize} bytes (budget ${run.s.history.maxEvents} events, ${run.s.history.maxBytes} bytes): continuing as new (run ${run.chain.previous.length + 2} of the chain) at ${stage}`);
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { phases, decisions, rollbacks, ...summary } = run.summary;
    const carried: ConversionContinuation = {
      stage, registryRunId: run.runId, registered: run.registered, ctl: run.ctl.snapshot(), summary,
      saga: run.saga.keys() as ConversionCompensationKey[], locals: run.locals, chain: nextChain(run.chain, stage),
    };
    return { ...run.rawInput, continued: carried };
  });
}

/** The conversion a hand-over continues: a fresh run with the carried state put back. */
export function resumeConversion(s: ConversionSettings & { continued: ConversionContinuation }, rawInput: Record<string, unknown>): ConversionRun {
  const c = s.continued;
  const run = startConversion(s, rawInput); // its controller restored c.ctl before installing the handlers
  // The summary object stays (the details' closure reads it): the carried fields are put into it.
  Object.assign(run.summary, c.summary, { history: { runs: c.chain.previous.length + 1, continuedAt: c.chain.previous } });
  Object.assign(run, { runId: c.registryRunId, registered: c.registered, stage: c.stage, locals: c.locals, chain: c.chain } satisfies Partial<ConversionRun>);
  for (const key of c.saga) run.saga.add(conversionCompensation(run, key));
  run.ctl.note(`continued from run ${c.chain.previous[c.chain.previous.length - 1]?.runId} at ${c.stage} (run ${c.chain.previous.length + 1} of the chain)`);
  return run;
}
