/**
 * Mode attach: from the bound check's addition until the swap, every write with the partition
 * column at or beyond the bound is refused (23514). Neither the check is added nor the swap
 * started this close to the bound, and the run's before-swap gate waits no longer than until
 * this before it (then the run rolls back before the swap: the check goes). Pure: the workflow
 * imports it.
 */
export const ATTACH_BOUND_MARGIN_MS = 3600_000;
