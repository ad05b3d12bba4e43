/** The steps of the memory_records conversion in order (what a hand-over resumes at); a fresh run starts at preflight. */
export const CONVERSION_STAGE_ORDER = ['preflight', 'shadow', 'copy', 'verify', 'swap', 'retention', 'drop'] as const;
export type ConversionStage = (typeof CONVERSION_STAGE_ORDER)[number];
/** Stages the memory_records conversion can hand over at. */
export const CONVERSION_STAGES = CONVERSION_STAGE_ORDER.slice(1);
/** The generic conversion hands over in its retention window and before the drop (its copy is one checkpointed activity). */
export const GENERIC_STAGES = ['retention', 'drop'] as const;
