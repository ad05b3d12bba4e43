import { barrier, swapActs, type ConversionRun } from './run';
import { conversionCompensation } from './compensations';

/**
 * Runbook conversion step 2: keep the shadow in sync with every write — a row trigger on the
 * heap, or (sync app-dual-write) the app mirroring each write in the same transaction. The
 * mirror's undo runs before the shadow's (reverse order): the app stops mirroring first.
 */
export async function installSync(run: ConversionRun): Promise<void> {
  const { ctl, profile, s } = run;
  if (!run.app) {
    await ctl.phase('install sync', () => swapActs.installForwardSync({ profile, lock: s.lock }));
    return;
  }
  run.saga.add(conversionCompensation(run, 'remove-app-mirror'));
  await ctl.phase('install sync', async () => {
    const r = await barrier.installAppMirror({ ...run.appSync, mirrorTable: 'memory_records_partitioned' });
    ctl.note(`the app mirrors every write into memory_records_partitioned from control epoch ${r.epoch}` + (r.acknowledged.length ? ` (acknowledged by ${r.acknowledged.join(', ')})` : ''));
  });
}
