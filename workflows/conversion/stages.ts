/** The steps of the memory_records conversion in order (what a hand-over resumes at); a fresh run starts at preflight. */
export const CONVERSION_STAGE_ORDER = ['preflight', 'shadow', 'copy', 'verify', 'swap', 'retention', 'drop'] as const;
export type ConversionStage = (typeof CONVERSION_STAGE_ORDER)[number];
/** Stages the memory_records conversion can hand over at. */
export const CONVERSION_STAGES = CONVERSION_STAGE_ORDER.slice(1);
/**
 * The steps of the generic conversion (mode copy) in order (what a hand-over resumes at); a fresh run starts at preflight.
 * 'preflight' runs preflight, shadow and sync; 'verify' the parity to the post-swap check.
 */
export const GENERIC_STAGE_ORDER = ['preflight', 'copy', 'verify', 'retention', 'drop'] as const;
/**
 * Stages the generic conversion hands over at: between copy slices and between parity slices (runs
 * started with patched(generic-hand-over)), in its retention window and before the drop.
 */
export const GENERIC_STAGES = GENERIC_STAGE_ORDER.slice(1);
