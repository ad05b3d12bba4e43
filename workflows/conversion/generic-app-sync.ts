import { proxyActivities } from '@temporalio/workflow';
import type { ConversionActivities } from '../../activities/conversion';
import type { GenericInput, PlanSummary } from '../../activities/conversion/generic/activities';
import type { RunController } from '../common/run-controller';
import type { GenericContinuation, GenericConversionSummary, GenericCopySummary, RowCopyStart } from './generic';
import { BARRIER_STEP } from '../common/timeouts';

/**
 * Sync "app-dual-write" on the any-table engine (generic.ts's hooks): no trigger; every live
 * instance of the application mirrors each write into the shadow in its own transaction, switched
 * through the control plane (activities/conversion/app-sync.ts, generic/app-mirror.ts). The copy
 * takes the row-sync path (whole rows mirrored: no change log). Preflight checks the app
 * (planGenericConversion); the swap moves the mirror to the old table in its transaction, the
 * swap back moves it back, the rollback's removal of the shadow and the drop of the old table
 * remove it first (the activities, given `io.app`; the shadow's images judged while the mirror is
 * still on). Here: the option read from the input, the control-plane key carried after
 * preflight, and the mirror installed after the shadow.
 */
const barrier = proxyActivities<ConversionActivities>(BARRIER_STEP);

/** The rollback record's branch labels with the app's mirror. */
export const APP_BRANCHES = { after: 'after-swap: swapped back, app mirror and shadow removed', before: 'before-swap: app mirror and shadow removed, source untouched' };

/** After preflight (or in a continued run, from the plan it carries): the control-plane key the activities set the mirror under. */
export function withAppTarget(io: GenericInput, plan: PlanSummary | undefined): void {
  if (io.app && plan?.appSync) io.app = { ...io.app, target: plan.appSync.target };
}

const appSyncInput = (io: GenericInput, plan: PlanSummary) => ({ profile: io.profile, target: plan.appSync!.target, barrierTimeoutSeconds: io.app!.barrierTimeoutSeconds });

/** Every live instance mirrors each write into the shadow, then the barrier (the copy starts after it: every earlier write is committed and seen). */
export async function installAppMirror(ctl: RunController, io: GenericInput, plan: PlanSummary): Promise<void> {
  await ctl.phase('install sync', async () => {
    const r = await barrier.installAppMirror({ ...appSyncInput(io, plan), mirrorTable: plan.appSync!.shadow });
    ctl.note(`the app mirrors every write into ${plan.appSync!.shadow} from control epoch ${r.epoch}` + (r.acknowledged.length ? ` (acknowledged by ${r.acknowledged.join(', ')})` : ''));
  });
}

/**
 * The row-sync copy's hand-over (sync "app-dual-write"): where a continued run's copy goes on (the
 * copy's counts in the summary, the checkpoint it carried), and the safe point between two slices
 * that records the counts and hands over past the history budget (`handOver`: generic.ts's checkpoint at 'copy').
 */
export function appCopyHandOver(c: GenericContinuation | undefined, summary: GenericConversionSummary, handOver: (at: RowCopyStart) => Promise<void>):
  [{ summary?: GenericCopySummary; at?: RowCopyStart }, (copy: GenericCopySummary, at: RowCopyStart) => Promise<void>] {
  const start = c?.stage === 'copy' && c.rowCopy ? { summary: summary.copy, at: c.rowCopy } : {};
  return [start, async (copy, at) => {
    summary.copy = copy;
    await handOver(at);
  }];
}
