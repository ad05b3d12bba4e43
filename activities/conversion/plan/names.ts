import { qi, withSuffix } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';

/** Every name the conversion of one table creates, raw and quoted. */
export interface ConversionNames {
  schema: string;
  name: string;
  /** "schema"."name": the table the application writes (the heap, then the new partitioned table). */
  table: string;
  shadowName: string;
  shadow: string;
  oldName: string;
  old: string;
  forwardFn: string;
  reverseFn: string;
  forwardTrigger: string;
  reverseTrigger: string;
  /** The BEFORE TRUNCATE guard installed with the sync (plan/truncate-guard.ts). */
  truncateFn: string;
  truncateTrigger: string;
}

export const FORWARD_TRIGGER_NAME = 'lichen_conversion_sync_forward';
export const REVERSE_TRIGGER_NAME = 'lichen_conversion_sync_reverse';
export const TRUNCATE_TRIGGER_NAME = 'lichen_conversion_sync_truncate';

export function conversionNames(d: Pick<TableDescriptor, 'schema' | 'name'>): ConversionNames {
  const q = (n: string) => `${qi(d.schema)}.${qi(n)}`;
  const shadowName = withSuffix(d.name, '_partitioned');
  const oldName = withSuffix(d.name, '_old');
  return {
    schema: d.schema,
    name: d.name,
    table: q(d.name),
    shadowName,
    shadow: q(shadowName),
    oldName,
    old: q(oldName),
    forwardFn: q(withSuffix(`lichen_sync_fwd_${d.name}`, '')),
    reverseFn: q(withSuffix(`lichen_sync_rev_${d.name}`, '')),
    forwardTrigger: qi(FORWARD_TRIGGER_NAME),
    reverseTrigger: qi(REVERSE_TRIGGER_NAME),
    truncateFn: q(withSuffix(`lichen_sync_trunc_${d.name}`, '')),
    truncateTrigger: qi(TRUNCATE_TRIGGER_NAME),
  };
}

/** The temporary name of an index built on the shadow (renamed to the original at the swap). */
export const shadowIndexName = (original: string) => withSuffix(original, '_pnew');
/** The name the old table's index takes at the swap. */
export const oldIndexName = (original: string) => withSuffix(original, '_old');
