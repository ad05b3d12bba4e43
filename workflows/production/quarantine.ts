import { patched } from '@temporalio/workflow';
import type { QuarantineReport } from '../../activities/production/membership';
import { PATCHES } from '../patches';
import { short, type ProductionRun } from './run';

/** How many quarantined records the waiting text and the notes name (the result keeps up to 200). */
const NAMED = 10;

/**
 * Records Postgres cannot store (issue 12: a NUL character or a lone surrogate, held in an
 * instance's memory from before the API refused them) never stall the run: the instances leave
 * them out of everything a cutover reads (export, checksums, records by id, the newest), so
 * back-fill and verify go on without them. Before the switch of the primary and before the
 * final cutover the run asks each instance for them; any it has not skipped yet are named in
 * the history (the activity's result, a note, `result.quarantine`) and the run waits at the
 * `skip-quarantined` gate: an operator's approval (recorded) goes on without them — they stay
 * in their instance's memory until the final cutover and are given up there — or an abort
 * rolls the run back to its starting mode.
 *
 * A skipped record may have an older, storable version in Postgres (an earlier dual-write or
 * back-fill); verify keeps it (a quarantined id is never a stray), and after the switch it would
 * be served in place of the record given up. So right after the skip every Postgres row of a
 * quarantined id that is not newer than the version in memory is removed and tombstoned
 * (removeStaleOfQuarantined; a newer row is kept), and the removal is recorded: the skip's
 * entry in `result.quarantine.skipped` (`removedFromPostgres`), a note, the audit report.
 */
export async function checkQuarantine(run: ProductionRun, before: 'switch of the primary' | 'final cutover'): Promise<void> {
  const { ctl } = run;
  const q: QuarantineReport = await short.quarantineReport({ apps: run.appsRef, instances: run.instances });
  if (q.total === 0) return;
  const state = (run.result.quarantine ??= { total: 0, records: [], skipped: [] });
  state.total = q.total;
  for (const r of q.records) if (!state.records.some((x) => x.id === r.id) && state.records.length < 200) state.records.push(r);
  // Per (instance, id): one id may sit in two instances' memory. The report names at most 200;
  // the count of the last skip covers those it did not name.
  const skipped = new Set(state.skipped.flatMap((s) => s.ids));
  const lastTotal = state.skipped.length ? state.skipped[state.skipped.length - 1].total : 0;
  const fresh = q.records.filter((r) => !skipped.has(`${r.instanceId}/${r.id}`));
  if (fresh.length === 0 && q.total <= lastTotal) return;
  const count = Math.max(fresh.length, q.total - lastTotal);
  const named = fresh.slice(0, NAMED).map((r) => `${r.id} on ${r.instanceId} (${r.reason})`).join('; ');
  const more = count > NAMED ? ` and ${count - NAMED} more` : '';
  ctl.note(`quarantined before the ${before}: ${count} record(s) Postgres cannot store, left out of back-fill and verify: ${named}${more}`);
  const d = await ctl.gate(
    'skip-quarantined',
    `${count} record(s) held in memory that Postgres cannot store: ${named}${more}. ` +
      'Approve to go on without them (they stay only in their instance\'s memory and are given up at the final cutover; the audit report names them), or abort to roll back',
  );
  const entry: NonNullable<ProductionRun['result']['quarantine']>['skipped'][number] = {
    before,
    ids: q.records.map((r) => `${r.instanceId}/${r.id}`),
    total: q.total,
    operator: d.operator,
    reason: d.reason,
    at: d.at,
  };
  state.skipped.push(entry);
  if (!patched(PATCHES.skipRemovesOlderVersions.id)) return;
  const removal = await short.removeStaleOfQuarantined({ connectionProfile: run.common.connectionProfile, table: run.common.target, apps: run.appsRef, instances: run.instances });
  entry.removedFromPostgres = removal.removed.map((r) => ({ id: r.id, instanceId: r.instanceId, updatedAt: r.updatedAt, quarantinedUpdatedAt: r.quarantinedUpdatedAt }));
  if (removal.removed.length) {
    const listed = removal.removed.slice(0, NAMED).map((r) => `${r.id} (Postgres ${r.updatedAt}, memory ${r.quarantinedUpdatedAt})`).join('; ');
    ctl.note(
      `skipped records with an older version in Postgres: removed and tombstoned ${removal.removed.length} row(s), so none is served in place of the record given up: ${listed}` +
        (removal.removed.length > NAMED ? ` and ${removal.removed.length - NAMED} more` : ''),
    );
  }
  if (removal.alreadyTombstoned?.length) {
    entry.alreadyTombstoned = removal.alreadyTombstoned.slice(0, 200);
    ctl.note(`skipped records Postgres had already removed and tombstoned (an earlier attempt of this removal, or a delete): ${removal.alreadyTombstoned.slice(0, NAMED).join(', ')}${removal.alreadyTombstoned.length > NAMED ? ` and ${removal.alreadyTombstoned.length - NAMED} more` : ''}`);
  }
  if (removal.truncated.length) ctl.note(`quarantined records beyond the first 10000 of ${removal.truncated.join(', ')} were not looked at for older Postgres versions`);
}
