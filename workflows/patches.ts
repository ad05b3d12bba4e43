/**
 * Every `patched()` id the workflows use, in one place. A workflow calls `patched(PATCHES.x.id)`
 * (never a string literal): test/audit/replay.test.ts fails when a `patched(` call under
 * workflows/ names an id that is not registered here, and when a registered patch has no
 * fixture in test/fixtures/histories/ that replays its old path.
 *
 * Lifecycle (Temporal's): `patched(id)` → once no run started before the change can still be
 * open, `deprecatePatch(id)` and drop the old branch → once no run started before the
 * deprecation is open, remove the call, this entry and its old-path fixtures.
 *
 * Worker Versioning (src/worker/versioning.ts, README "Deploying a new version"): a worker that
 * runs built (dist/, the package, the image) declares a Worker Deployment version and pins every
 * run to the version that started it, so a run never replays against another build's code.
 * Every patch registered below (window-decides-by-timer, reconcile-before-retry,
 * reconcile-before-every-switch, drop-waits-after-drift, membership-in-the-run,
 * approve-signal-gate-rules, maintenance-prunes-tombstones, bounded-histories) guards runs that
 * started on unversioned workers. Each may be retired at once (the `patched()` call, the old
 * branch, this entry and its old-path fixtures; no `deprecatePatch` step) when every run started
 * before the first versioned build is current has finished (`temporal workflow list --query
 * 'ExecutionStatus="Running" AND TemporalWorkerDeploymentVersion IS NULL'` returns nothing).
 * A continue-as-new stays on its build (test/package/worker-versioning.test.ts). A change after
 * that still needs `patched()` only where a running workflow is moved to another build on
 * purpose (a versioning override, AutoUpgrade) or runs on workers with
 * LICHEN_WORKER_VERSIONING=off.
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
  skipRemovesOlderVersions: {
    id: 'skip-removes-older-versions',
    where: 'workflows/production/quarantine.ts (checkQuarantine, after the skip-quarantined approval)',
    changed:
      'After an operator skips quarantined records, every Postgres row of a quarantined id not newer than the version in memory is removed and tombstoned (removeStaleOfQuarantined), recorded in result.quarantine.skipped[].removedFromPostgres, a note and the audit report (before: an older, storable version stayed and was served after the switch).',
    oldPathFixtures: ['before-stale-quarantine-patch-quarantine-skip'],
    newPathFixtures: ['quarantine-skip'],
    deprecateWhen:
      'No production cutover started before the patch is waiting at skip-quarantined: then deprecatePatch, drop the old branch and before-stale-quarantine-patch-quarantine-skip.',
  },
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
  dropWaitsAfterDrift: {
    id: 'drop-waits-after-drift',
    where: 'workflows/conversion/retention.ts (retentionWindow, both conversions)',
    changed:
      'When retention parity sees drift, an approval of drop-old-table given before it (a pre-approval) no longer counts, and a new one must name the drift in its reason (before: a pre-approval dropped the old table whatever retention saw).',
    oldPathFixtures: ['before-gate-rules-patch-conversion-retention-drift'],
    newPathFixtures: ['conversion-retention-drift'],
    deprecateWhen:
      'No conversion started before the patch is still in retention or waiting at drop-old-table: then deprecatePatch, drop the old branch and before-gate-rules-patch-conversion-retention-drift.',
  },
  membershipInTheRun: {
    id: 'membership-in-the-run',
    where: 'workflows/production.ts (before every switch of the primary and before the final cutover; workflows/production/membership.ts)',
    changed:
      'Before each switch of the primary and before the final cutover the run reads the fleet again (fleetCheck): members it has not read (frozen across preflight, started later) are back-filled and verified; the final cutover waits for an operator while a member is silent or has not applied the latest epoch (before: the fleet was fixed at preflight). At the same points the instances are asked for records Postgres cannot store (quarantineReport): the run names them and waits at gate skip-quarantined. Before the final cutover every month is verified and repaired from memory (before: only when failures were counted while the switch rolled out).',
    oldPathFixtures: ['before-membership-patch-happy-path'],
    newPathFixtures: ['happy-path'],
    deprecateWhen:
      'No production cutover started before the patch is open (gate waits + the monitoring window): then deprecatePatch, drop the old branch and before-membership-patch-happy-path.',
  },
  approveSignalGateRules: {
    id: 'approve-signal-gate-rules',
    where: 'workflows/common/run-handlers.ts (the approveSignal handler)',
    changed:
      'An approve signal is ignored (with a note) unless it names the open gate or an announced upcoming one, and a gate with a condition (retention drift) needs a reason that names it — the rules the approve update validates (before: any gate was taken). Signal handlers run on replay, so the rule applies only to runs that recorded the marker.',
    oldPathFixtures: ['happy-path'],
    // No recorder sends signals; the marker is written only when a signal arrives.
    newPathFixtures: [],
    deprecateWhen: 'No run started before the patch is open: then deprecatePatch and drop the unconditional branch.',
  },
  restoreBeforeHandlers: {
    id: 'restore-before-handlers',
    where: 'workflows/common/run-controller.ts (the RunController constructor, in a run that continued as new)',
    changed:
      'The carried state is restored before the message handlers are installed, so a message delivered in the first activation after a hand-over is validated and applied against the carried state (gate conditions, a carried pause, the window in progress) — before: against an empty state (handlers installed, then restore). Asked only in a continued run.',
    oldPathFixtures: ['continued-production-middle-run', 'continued-production-last-run', 'continued-conversion-last-run'],
    // FIXTURES_PREFIX=issue24- FIXTURES=continued-production npm run fixtures:histories
    newPathFixtures: ['issue24-continued-production-middle-run', 'issue24-continued-production-last-run'],
    deprecateWhen: 'No run of a chain started before the patch is open: then deprecatePatch and drop the old order.',
  },
  carriedPhaseGoesOnWhenPaused: {
    id: 'carried-phase-goes-on-when-paused',
    where: 'workflows/common/run-controller.ts (RunController.phase, for a phase a hand-over interrupted)',
    changed:
      'A pause carried across a hand-over takes effect before the next phase, as without a hand-over: the phase the hand-over interrupted (a monitoring or retention window, the backfill, the copy) goes on — the window keeps its health checks and its clock (before: the new run waited paused before that phase while the window\'s clock ran on without checks). Asked only when a paused run resumes a carried phase.',
    oldPathFixtures: ['continued-production-middle-run'],
    // FIXTURES=continued-production-paused-window npm run fixtures:histories (the run of the chain that recorded the marker).
    newPathFixtures: ['continued-production-paused-window'],
    deprecateWhen: 'No run paused across a hand-over before the patch is open: then deprecatePatch and drop the wait.',
  },
  maintenancePrunesTombstones: {
    id: 'maintenance-prunes-tombstones',
    where: 'workflows/maintenance.ts (the last phase of the memory_records form)',
    changed: 'Every maintenance run ends with a prune tombstones phase (before: tombstones were pruned only when a cutover completed).',
    oldPathFixtures: ['before-prune-patch-maintenance-premake'],
    newPathFixtures: ['maintenance-premake'],
    deprecateWhen: 'No maintenance run started before the patch is open (they take minutes): then deprecatePatch and drop the old branch and its fixture.',
  },
  boundedHistories: {
    id: 'bounded-histories',
    where: 'workflows/common/continuation.ts (handOverDue: production, conversion and their windows hand over at safe points)',
    changed:
      'A run whose history passed its budget (input history.maxEvents / maxBytes) continues as new at the next safe point, carrying its state (before: one history per run, however long). Asked only when over budget, so histories that never passed it replay without the marker.',
    oldPathFixtures: ['happy-path'],
    newPathFixtures: ['continued-production-first-run', 'continued-production-middle-run', 'continued-conversion-first-run'],
    deprecateWhen: 'Never: the hand-over is the design. The patch only guards runs that were already over budget when the code was deployed.',
  },
  genericKeepsWorking: {
    id: 'generic-keeps-working',
    where: 'workflows/conversion/generic.ts (keepWorking, after the drop of the old table)',
    changed:
      'After the drop, the conversion of any table premakes its partitions ahead of the clock (phase "partitions ahead") and creates or updates the table\'s partitionMaintenance Schedule (phase "maintenance schedule"), or notes why not when options.maintenance.schedule is false (before: the run ended after the drop, and nothing kept partitions ahead).',
    oldPathFixtures: ['before-keeps-working-patch-generic-conversion'],
    newPathFixtures: ['generic-conversion'],
    deprecateWhen: 'No conversion of a table started before the patch is open (retention window + the drop gate): then deprecatePatch, drop the old branch and the before-keeps-working-patch-* fixture.',
  },
  genericSlices: {
    id: 'generic-copy-and-parity-in-slices',
    where: 'workflows/conversion/generic.ts (copyInSlices, parityInSlices: phases copy and verify)',
    changed:
      'The copy and the parity (per key range, with repair) of any table run as activities of about 30 s each, every one continuing from the checkpoint the last returned, and the run\'s progress (rows of preflight\'s count, rows/s, ETA) is set between them (before: one copy activity and one parity activity, no progress in the run\'s details).',
    oldPathFixtures: ['generic-conversion'],
    newPathFixtures: ['issue25-generic-conversion'],
    deprecateWhen: 'No conversion of a table started before the patch is still before its swap: then deprecatePatch, drop the one-activity branch.',
  },
  genericPostSwapRanges: {
    id: 'generic-post-swap-ranges',
    where: 'workflows/conversion/generic.ts (postSwapParity: phases post-swap check and retention)',
    changed:
      'The post-swap check and every retention check of any table compare the partitioned table with the old heap per key range, each range in its own short snapshot, as activities of about 30 s each (heartbeating a checkpoint, rate bound, continuing from the checkpoint the last returned), the progress set between them; a differing range is named in the failure (or the drift) with both counts (before: one activity comparing the whole tables in one snapshot, no heartbeat).',
    oldPathFixtures: ['generic-conversion', 'issue25-generic-conversion'],
    newPathFixtures: ['postswap-generic-conversion', 'current-generic-conversion'],
    deprecateWhen: 'No conversion of a table started before the patch is still in its post-swap check or retention window: then deprecatePatch, drop the one-activity branch.',
  },
  attachGateBound: {
    id: 'attach-gate-bound',
    where: 'workflows/conversion/generic-attach.ts (the before-swap gate of mode attach, and the wait for an operator after the swap\'s lock timeouts: swapUntilDone)',
    changed:
      'The before-swap gate of mode attach, and the wait for an operator\'s decision after the swap\'s lock timeouts, wait no longer than an hour before the bound chosen at preflight (one timer; RunController.gate\'s and waitForOperator\'s `until`): then the run fails with AttachBoundReached and rolls back before the swap, so the bound check stops refusing writes at or beyond the bound (before: both waited for ever, and from the bound on every such write of the application was refused until someone decided, only for the swap to refuse then).',
    oldPathFixtures: ['before-attach-gate-patch-attach-conversion'],
    newPathFixtures: ['attach-conversion'],
    deprecateWhen: 'No run in mode attach started before the patch is waiting at before-swap (at most until its bound, a day or two): then deprecatePatch, drop the old branch and before-attach-gate-patch-attach-conversion.',
  },
  genericChangeLog: {
    id: 'generic-change-log',
    where: 'workflows/conversion/generic.ts (genericConversion: decided once at the start of a run, before preflight; the copy phase)',
    changed:
      'The conversion of any table in mode copy takes the change-log engine (issue 25 item 2): the sync trigger only logs keys, the copy fills each partition from one exported snapshot as a plain table attached afterwards (activity copyGenericSnapshot, parallel lanes), then the log is replayed from the heap\'s current state until short (replayGenericLog), parity leaves keys still logged out and replays before a repair, and the swap drains the log\'s tail under its lock (before: a row trigger upserting each write into the indexed shadow, and a keyset copy FOR SHARE with ON CONFLICT).',
    oldPathFixtures: ['issue25-generic-conversion'],
    newPathFixtures: ['change-log-generic-conversion', 'current-generic-conversion'],
    deprecateWhen: 'No conversion of a table started before the patch is still before its swap (after it both engines run the same steps): then deprecatePatch, drop the row-sync branch (and plan/pending.ts\'s pending keys with it).',
  },
  genericHandOver: {
    id: 'generic-hand-over',
    where: 'workflows/conversion/generic.ts (genericConversion: decided once at the start of a run, before preflight, and carried in the continuation; copyByLog and parityInSlices: phases copy and verify)',
    changed:
      'The conversion of any table in mode copy hands over to a new run (continue-as-new, bounded histories) between two copy slices and between two parity slices once its history passed the budget, carrying the stage (copy, verify), the copy\'s snapshot checkpoint or the parity\'s range checkpoint, the progress shown, the engine and slice decisions; the next run goes on from that checkpoint (before: it handed over only in the retention window and before the drop, so a long copy or parity grew the history without bound). The summary\'s copy counts slices and the retries that resumed from a heartbeated checkpoint (no command).',
    oldPathFixtures: ['current-generic-conversion'],
    // FIXTURES=generic-conversion,continued-generic-conversion FIXTURES_PREFIX=handover- npm run fixtures:histories; the runs of the
    // chain continued at copy and at verify (handover-continued-generic-conversion-at-*) are replayed too but carry no marker (decided in the first run).
    newPathFixtures: ['handover-generic-conversion', 'handover-continued-generic-conversion-first-run'],
    deprecateWhen: 'No conversion of a table started before the patch is still before its swap: then deprecatePatch (a run without the marker only hands over after the swap, as before).',
  },
  genericParityByPartition: {
    id: 'generic-parity-by-partition',
    where: 'workflows/conversion/generic.ts (parityInSlices: phase verify)',
    changed:
      'The parity of any table passes `ranges: \'partitions\'` to genericParity: its ranges follow the shadow\'s partitions (each one partition\'s bound, read whole, and the heap\'s rows of that bound through its index on the column; the gaps around them and the NULL range too; key sub-ranges inside a partition over the budget), and the summary\'s parity names each partition (bound, both counts, match, keys repaired) (before: key ranges of 50,000 rows over the whole key space, no per-partition result). A checkpoint begun on key ranges ends on them.',
    oldPathFixtures: ['current-generic-conversion'],
    // FIXTURES=generic-conversion FIXTURES_PREFIX=partparity- npm run fixtures:histories
    newPathFixtures: ['partparity-generic-conversion'],
    deprecateWhen: 'No conversion of a table started before the patch is still in its verify phase: then deprecatePatch and drop the key-range call (the activity keeps key ranges for checkpoints begun on them until then).',
  },
  genericPostSwapPartitions: {
    id: 'generic-post-swap-partitions',
    where: 'workflows/conversion/generic.ts (postSwapParity: phases post-swap check and retention)',
    changed:
      'The post-swap check and every retention check of any table pass `ranges: \'partitions\'` to genericPostSwapParity: the ranges follow the partitioned table\'s partitions (each partition read whole against the old heap\'s rows of its bound through its index on the column), the result names each partition, and a retention drift is named by partition (by month for memory_records, as its own engine named it) (before: key ranges of 50,000 rows, a drift named by key range).',
    oldPathFixtures: ['partparity-generic-conversion'],
    // FIXTURES=conversion-retention-drift,generic-conversion FIXTURES_PREFIX=oneengine- npm run fixtures:histories
    newPathFixtures: ['oneengine-generic-conversion', 'oneengine-conversion-retention-drift'],
    deprecateWhen: 'No conversion of a table started before the patch is still in its post-swap check or retention window: then deprecatePatch and drop the key-range call.',
  },
  oneEngine: {
    id: 'one-engine',
    where: 'workflows/conversion.ts (heapToPartitionedConversion: decided once at the start of a run of the form without `table`)',
    changed:
      'A new conversion of memory_records (the form without `table`, sync "trigger") runs on the any-table engine with memory_records\' preset (workflows/conversion/one-engine.ts: monthly by created_at, premakeMonths ahead, no Schedule of its own): change-log copy, parity per partition, the swap, retention and rollback of every table; its summary keeps the fields memory_records\' runs always returned (before: memory_records\' own engine, workflows/conversion/run.ts and activities/conversion/{copy,parity,swap,shadow}.ts). A run the one engine hands over carries the any-table continuation (with `planAt`) and goes on there.',
    oldPathFixtures: ['conversion-retention-drift'],
    // FIXTURES=conversion-retention-drift,generic-conversion FIXTURES_PREFIX=oneengine- npm run fixtures:histories
    newPathFixtures: ['oneengine-conversion-retention-drift'],
    deprecateWhen: 'No conversion of memory_records started before the patch is still open (its retention window is at most 48 h plus the drop gate): then deprecatePatch, delete memory_records\' own engine (workflows/conversion/{run,copy,verify,swap,shadow,sync,preflight,continuation-state,compensations,ending}.ts and activities/conversion/{copy,parity,swap,shadow,preflight}.ts) and its fixtures.',
  },
} as const satisfies Record<string, PatchEntry>;
