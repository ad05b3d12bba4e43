/**
 * Every `patched()` id the workflows use, in one place. A workflow calls `patched(PATCHES.x.id)`
 * (never a string literal): test/audit/replay.test.ts fails when a `patched(` call under
 * workflows/ names an id that is not registered here, and when a registered patch has no
 * fixture in test/fixtures/histories/ that replays its old path.
 *
 * Lifecycle (Temporal's): `patched(id)` → once no run started before the change can still be
 * open, `deprecatePatch(id)` and drop the old branch → once no run started before the
 * deprecation is open, remove the call, this entry and its old-path fixtures.
 */
export interface PatchEntry {
  /** The id recorded in the history's marker (never change it). */
  id: string;
  /** Where the branch is. */
  where: string;
  /** What the patched path does differently from the old one. */
  changed: string;
  /** Fixtures (test/fixtures/histories/*.json, without the extension) recorded before the patch. */
  oldPathFixtures: string[];
  /** Fixtures recorded with the patch (its new path). */
  newPathFixtures: string[];
  /** When the old branch may go. */
  deprecateWhen: string;
}

export const PATCHES = {
  windowByTimer: {
    id: 'window-decides-by-timer',
    where: 'workflows/common/run-controller.ts (RunController.window)',
    changed:
      'After a wait, the window decides tick-or-end from which timer fired, not from Date.now() (a worker that took over after a workflow-task timeout could see an older time than a later replay: nondeterminism seen under chaos).',
    oldPathFixtures: ['before-window-patch-happy-path', 'before-window-patch-operator-abort', 'before-window-patch-parity-mismatch'],
    newPathFixtures: ['happy-path', 'operator-abort', 'cutover-issues-retry'],
    deprecateWhen:
      'No production cutover or conversion started before the patch is open (the longest window is 48 h + extensions): then deprecatePatch, drop the Date.now() branch and the before-window-patch-* fixtures.',
  },
  reconcileBeforeRetry: {
    id: 'reconcile-before-retry',
    where: 'workflows/production/cutover-issues.ts',
    changed:
      'After "cutover has issues", a retry first verifies and repairs Postgres from memory when dual-write failures were counted since the stores were last known equal (before: the primary was switched again at once).',
    oldPathFixtures: ['before-reconcile-patch-cutover-issues-retry'],
    newPathFixtures: ['cutover-issues-retry'],
    deprecateWhen:
      'No production cutover started before the patch is waiting on a "cutover issues" decision: then deprecatePatch, drop the old branch and before-reconcile-patch-cutover-issues-retry.',
  },
  reconcileBeforeEverySwitch: {
    id: 'reconcile-before-every-switch',
    where: 'workflows/production.ts (before switchPrimary and before finalCutover; workflows/production/reconcile.ts)',
    changed:
      'Before the first switch of the primary, verify and repair Postgres from memory when dual-write failures were counted since the last verify (before: only a retry did); a metrics snapshot is taken after each switch, and before the final cutover the stores are verified and repaired once when failures were counted while the switch rolled out.',
    oldPathFixtures: ['before-every-switch-patch-happy-path', 'cutover-issues-retry'],
    newPathFixtures: ['happy-path', 'reconcile-before-switch'],
    deprecateWhen:
      'No production cutover started before the patch is open (gate waits + the monitoring window): then deprecatePatch, drop the old branch and the before-every-switch-patch-* fixtures.',
  },
} as const satisfies Record<string, PatchEntry>;
