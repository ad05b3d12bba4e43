import { short, swapActs, type ConversionRun } from './run';

/**
 * Runbook conversion step 7: keep memory_records_old (the way back) for the retention window,
 * checking that the reverse sync keeps it equal; an approval of `end-retention` ends it early.
 */
export async function retain(run: ConversionRun): Promise<void> {
  const { ctl, s, profile, summary } = run;
  await ctl.phase('retention', async () => {
    const ret = { minutes: s.retentionMinutes, ended: 'elapsed' as 'elapsed' | 'ended-early', checks: 0, driftSeen: false };
    summary.retention = ret;
    if (s.retentionMinutes === 0) return;
    ctl.offerGate('end-retention');
    try {
      ret.ended = await ctl.window({
        minutes: s.retentionMinutes,
        tickMinutes: s.retentionCheckMinutes,
        endEarly: () => ctl.approved('end-retention') !== undefined,
        tick: async () => {
          const h = await short.retentionParity({ profile });
          ret.checks++;
          ctl.setLastHealth({ reverseSyncParity: h.ok, months: h.months, mismatched: h.mismatched.map((m) => m.month) });
          if (!h.ok) {
            ret.driftSeen = true;
            ctl.note(`memory_records_old drifted from memory_records in ${h.mismatched.map((m) => m.month.slice(0, 7)).join(', ')}: a rollback would lose writes; investigate before approving the drop`);
          }
        },
      });
    } finally {
      ctl.closeGate();
    }
  });
}

/** Runbook conversion step 8 (after its approval): drop memory_records_old. Nothing is left to undo. */
export async function dropOldTable(run: ConversionRun): Promise<void> {
  await run.ctl.phase('drop old table', () => swapActs.dropOldTable(run.swapInput));
  run.summary.droppedOldTable = true;
  run.saga.clear(); // the old table is gone: no way back
}
