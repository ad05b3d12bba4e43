import { patched } from '@temporalio/workflow';
import { PATCHES } from '../patches';
import type { RunController, WindowState } from '../common/run-controller';
import { short, swapActs, type ConversionRun } from './run';
import { conversionCheckpoint } from './continuation-state';

/** What the retention window saw; part of both conversions' summaries. */
export interface RetentionSummary {
  minutes: number;
  ended: 'elapsed' | 'ended-early';
  checks: number;
  driftSeen: boolean;
  /** What drifted at the last check that saw drift (months, or the table's totals). */
  drift?: string[];
}

/** One reverse-sync parity check: equal, or what differs (month names like 2026-11, or a total). */
export type RetentionCheck = () => Promise<{ ok: boolean; drifted: string[]; health: Record<string, unknown> }>;

/**
 * Runbook conversion step 7, for memory_records and for any table: keep the old table (the way
 * back) for the retention window, checking that the reverse sync keeps it equal; an approval
 * of `end-retention` ends it early. Drift voids an approval of `drop-old-table` given before it
 * (a pre-approval): the drop then waits for a new approval whose reason names the drift.
 */
/** A retention window in progress: what a hand-over carries (bounded histories). */
export interface RetentionProgress {
  ret: RetentionSummary;
  window: WindowState;
}

export async function retentionWindow(ctl: RunController, o: {
  minutes: number; tickMinutes: number; old: string; table: string; check: RetentionCheck; into: (ret: RetentionSummary) => void;
  /** The window a previous run began (it goes on where it stopped). */
  resume?: RetentionProgress;
  /** After each check: a safe point to hand over at, with the window's progress. */
  safePoint?: (p: RetentionProgress) => Promise<void>;
}): Promise<RetentionSummary> {
  const ret: RetentionSummary = o.resume?.ret ?? { minutes: o.minutes, ended: 'elapsed', checks: 0, driftSeen: false };
  const window: WindowState = o.resume?.window ?? {};
  o.into(ret); // in the summary from the start: an abort during the window keeps what it saw
  if (o.minutes === 0) return ret;
  // An approval of end-retention carried from the previous run still ends the window.
  ctl.offerGate('end-retention', { keepApproval: !!o.resume });
  try {
    ret.ended = await ctl.window({
      minutes: o.minutes,
      tickMinutes: o.tickMinutes,
      endEarly: () => ctl.approved('end-retention') !== undefined,
      state: window,
      afterTick: o.safePoint ? () => o.safePoint!({ ret, window }) : undefined,
      tick: async () => {
        const h = await o.check();
        ret.checks++;
        ctl.setLastHealth(h.health);
        if (h.ok) return;
        ret.driftSeen = true;
        ret.drift = h.drifted;
        ctl.note(`${o.old} drifted from ${o.table} in ${h.drifted.join(', ')}: a rollback would lose writes; investigate before approving the drop`);
        if (patched(PATCHES.dropWaitsAfterDrift.id)) {
          ctl.requireNaming('drop-old-table', ['drift', ...h.drifted], `retention parity saw ${o.old} drift from ${o.table} (${h.drifted.join(', ')}) at check ${ret.checks}`);
        }
      },
    });
  } finally {
    ctl.closeGate();
  }
  return ret;
}

/** The `drop-old-table` gate: its text says what retention saw. */
export async function dropGate(ctl: RunController, ret: RetentionSummary | undefined, old: string): Promise<void> {
  const drift = ret?.driftSeen
    ? `; retention parity saw drift (${(ret.drift ?? []).join(', ')}): dropping loses the way back to those rows — abort to swap back, or approve with a reason that names the drift`
    : '';
  await ctl.gate('drop-old-table', `retention is over; approve dropping ${old} (the last way back)${drift}`);
}

export async function retain(run: ConversionRun): Promise<void> {
  const { ctl, s, profile, summary } = run;
  await ctl.phase('retention', async () => {
    await retentionWindow(ctl, {
      minutes: s.retentionMinutes, tickMinutes: s.retentionCheckMinutes, old: 'memory_records_old', table: 'memory_records', into: (ret) => (summary.retention = ret),
      resume: run.locals.retention,
      safePoint: async (p) => {
        run.locals.retention = p;
        await conversionCheckpoint(run, 'retention');
      },
      check: async () => {
        const h = await short.retentionParity({ profile });
        const drifted = h.mismatched.map((m) => m.month.slice(0, 7));
        return { ok: h.ok, drifted, health: { reverseSyncParity: h.ok, months: h.months, mismatched: h.mismatched.map((m) => m.month) } };
      },
    });
  });
  run.locals.retention = undefined;
}

/** Runbook conversion step 8 (after its approval): drop memory_records_old. Nothing is left to undo. */
export async function dropOldTable(run: ConversionRun): Promise<void> {
  await run.ctl.phase('drop old table', () => swapActs.dropOldTable(run.swapInput));
  run.summary.droppedOldTable = true;
  run.saga.clear(); // the old table is gone: no way back
}
