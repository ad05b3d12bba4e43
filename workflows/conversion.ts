import { patched } from '@temporalio/workflow';
import { asConversionSummary, isOneEngineContinuation, memoryRecordsPreset } from './conversion/one-engine';
import { PATCHES } from './patches';
import { readContinued } from './common/history-budget';
import { GENERIC_STAGES } from './conversion/stages';
import { parseWorkflowInput, Reader } from './common/validate';
import { parseConversionInput, type ConversionInput } from './conversion-input';
import { preflight } from './conversion/preflight';
import { createShadow } from './conversion/shadow';
import { installSync } from './conversion/sync';
import { copyHeap } from './conversion/copy';
import { verifyParity } from './conversion/verify';
import { postSwapCheck, swap } from './conversion/swap';
import { dropGate, dropOldTable, retain } from './conversion/retention';
import { finish, rollBack } from './conversion/ending';
import { startConversion, type ConversionSummary } from './conversion/run';
import { conversionCheckpoint, resumeConversion } from './conversion/continuation-state';
import { CONVERSION_STAGE_ORDER, type ConversionStage } from './conversion/stages';
import { acceptContinued, isHandOver } from './common/continuation';
import { genericConversion, type GenericContinuation, type GenericConversionSummary } from './conversion/generic';
import { isGenericConversionInput, parseGenericConversionInput } from './conversion/generic-input';

export type { ConversionInput } from './conversion-input';
export type { ConversionOutcome, ConversionSummary } from './conversion/run';
export type { GenericConversionSummary } from './conversion/generic';

/**
 * The runbook's "Heap-to-Partitioned Conversion Procedure" as one durable run, one module per
 * step under workflows/conversion/. Every step that changes something adds its undo to the
 * run's saga; an abort or a failure undoes them in reverse, in a non-cancellable scope:
 * before the swap the source is untouched (trigger and shadow removed); after it, the tables
 * are swapped back (the reverse sync kept memory_records_old complete).
 */
export async function heapToPartitionedConversion(input: ConversionInput): Promise<ConversionSummary | GenericConversionSummary> {
  // Any table (the form with `table`): workflows/conversion/generic.ts. Without it: memory_records, as before.
  if (isGenericConversionInput(input)) {
    const { continued: _c, ...given } = input as unknown as Record<string, unknown>;
    const g = parseWorkflowInput(() => parseGenericConversionInput(input));
    acceptContinued(g.continued);
    return genericConversion(g, given);
  }
  const { continued, ...given } = (input ?? {}) as ConversionInput & Record<string, unknown>;
  // memory_records on the one engine (issue 25 item 1): a run the any-table engine handed over goes on there.
  if (isOneEngineContinuation(continued)) {
    const s = parseWorkflowInput(() => parseConversionInput(given));
    const g = memoryRecordsPreset(s, parseWorkflowInput(() => readContinued<GenericContinuation>(Reader.root({ continued }, 'input'), GENERIC_STAGES)));
    acceptContinued(g.continued);
    return asConversionSummary(await genericConversion(g, given), s);
  }
  const s = parseWorkflowInput(() => parseConversionInput(input));
  acceptContinued(s.continued);
  // New runs take the one engine, either sync ("trigger", or "app-dual-write" as the engine's option: workflows/conversion/generic-app-sync.ts);
  // runs started before (and their hand-overs, s.continued) finish on memory_records' own.
  if (!s.continued && patched(PATCHES.oneEngine.id)) {
    return asConversionSummary(await genericConversion(memoryRecordsPreset(s), given), s);
  }
  const run = continued ? resumeConversion({ ...s, continued }, given) : startConversion(s, given);
  const { ctl, locals } = run;
  // A run that took over after a hand-over (bounded histories) starts at the stage it carried.
  const from = CONVERSION_STAGE_ORDER.indexOf(run.stage);
  const reached = (st: ConversionStage) => from <= CONVERSION_STAGE_ORDER.indexOf(st);
  try {
    await ctl.runCancellable(async () => {
      if (reached('preflight')) locals.months = await preflight(run);
      if (reached('shadow')) {
        await conversionCheckpoint(run, 'shadow');
        await createShadow(run, locals.months!); // undo: remove sync and shadow
        await installSync(run); // app-dual-write undo: remove the app mirror
      }
      if (reached('copy')) {
        await conversionCheckpoint(run, 'copy');
        await copyHeap(run, run.summary.preflight!.heapRows); // hands over between slices
      }
      if (reached('verify')) {
        await conversionCheckpoint(run, 'verify');
        await verifyParity(run); // repair rounds; still differs: roll back
        if (s.approveBeforeSwap) await ctl.gate('before-swap', 'parity verified; approve the atomic swap of memory_records');
      }
      if (reached('swap')) {
        await conversionCheckpoint(run, 'swap');
        await swap(run); // lock timeout: the operator retries; undo: swap back
        await postSwapCheck(run);
      }
      if (reached('retention')) {
        await conversionCheckpoint(run, 'retention');
        await retain(run); // hands over between checks
      }
      await conversionCheckpoint(run, 'drop');
      await dropGate(ctl, run.summary.retention, 'memory_records_old');
      await dropOldTable(run); // nothing left to undo
    });
    return await finish(run);
  } catch (err) {
    if (isHandOver(err)) throw err; // continued as new: the next run goes on
    return rollBack(run, err);
  }
}
