/** The steps of a production run in order (what a hand-over resumes at); a fresh run starts at preflight. */
export const PRODUCTION_STAGE_ORDER = ['preflight', 'schema', 'dual-write', 'backfill', 'migrate', 'baseline', 'switch', 'final'] as const;
export type ProductionStage = (typeof PRODUCTION_STAGE_ORDER)[number];
/** Stages a production run can hand over at. */
export const PRODUCTION_STAGES = PRODUCTION_STAGE_ORDER.slice(1);
