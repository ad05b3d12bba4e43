/**
 * Moved to src/conversion/choice/names.ts (the user's choice, parsed below workflows and
 * activities). This re-export only keeps this round's concurrent branches compiling; import from
 * the new place, and delete this file once nothing imports it.
 */
export * from '../../../src/conversion/choice/names';
