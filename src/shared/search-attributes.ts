import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The project's custom search attributes. Registered on the dev server at start and on any
 * cluster by `cutover setup`. Deterministic and free of Node built-ins: workflows import it.
 */
export const CUTOVER_PHASE = defineSearchAttributeKey('CutoverPhase', SearchAttributeType.KEYWORD);
export const CUTOVER_TARGET = defineSearchAttributeKey('CutoverTarget', SearchAttributeType.KEYWORD);
export const CUTOVER_KIND = defineSearchAttributeKey('CutoverKind', SearchAttributeType.KEYWORD);
export const CUTOVER_STATE = defineSearchAttributeKey('CutoverState', SearchAttributeType.KEYWORD);

export const CUSTOM_SEARCH_ATTRIBUTES = [CUTOVER_PHASE, CUTOVER_TARGET, CUTOVER_KIND, CUTOVER_STATE] as const;
