import { parseWorkflowInput } from './common/validate';
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
import { genericConversion, type GenericConversionSummary } from './conversion/generic';
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
  if (isGenericConversionInput(input)) return genericConversion(parseWorkflowInput(() => parseGenericConversionInput(input)));
  const s = parseWorkflowInput(() => parseConversionInput(input));
  const run = startConversion(s);
  const { ctl } = run;
  try {
    await ctl.runCancellable(async () => {
      const months = await preflight(run);
      await createShadow(run, months); // undo: remove sync and shadow
      await installSync(run); // app-dual-write undo: remove the app mirror
      await copyHeap(run, run.summary.preflight!.heapRows);
      await verifyParity(run); // repair rounds; still differs: roll back
      if (s.approveBeforeSwap) await ctl.gate('before-swap', 'parity verified; approve the atomic swap of memory_records');
      await swap(run); // lock timeout: the operator retries; undo: swap back
      await postSwapCheck(run);
      await retain(run);
      await dropGate(ctl, run.summary.retention, 'memory_records_old');
      await dropOldTable(run); // nothing left to undo
    });
    return await finish(run);
  } catch (err) {
    return rollBack(run, err);
  }
}
