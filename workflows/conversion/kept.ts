import type { KeptTable } from '../../activities/conversion/keep-or-drop';
import type { RunController } from '../common/run-controller';

/**
 * A table a rollback kept aside instead of dropping (it held rows the table in use lacks,
 * activities/conversion/keep-or-drop.ts): named in the run's result and notes with the statement
 * that drops it. Dropping it is an operator's decision, by hand. Records only: no command.
 */
export function recordKept(ctl: RunController, summary: { keptTables?: KeptTable[] }, r: { kept?: KeptTable; keptEarlier?: string[] } | undefined): void {
  if (r?.kept && !summary.keptTables?.some((k) => k.table === r.kept!.table)) {
    (summary.keptTables ??= []).push(r.kept);
    ctl.note(`kept ${r.kept.table}: it holds ${r.kept.rowsOnlyThere} row(s) ${r.kept.comparedWith} lacks, so nothing was dropped; look at it, then drop it by hand when it is not needed: ${r.kept.dropStatement}`);
  }
  for (const t of r?.keptEarlier ?? []) if (!summary.keptTables?.some((k) => k.table === t)) ctl.note(`${t} was kept aside by a rollback (not dropped)`);
}
