import { ApplicationFailure, patched, proxyActivities } from '@temporalio/workflow';
import { PATCHES } from './patches';
import type { MaintenanceActivities } from '../activities/maintenance';
import { RunController } from './common/run-controller';
import { SHORT_STEP } from './common/timeouts';
import { parseWorkflowInput } from './common/validate';
import { isTableMaintenanceInput, monthStart, parseMaintenanceInput, parseTableMaintenanceInput, type MaintenanceInput, type MaintenanceSettings } from './maintenance-input';
import { tableMaintenance, type TableMaintenanceSummary } from './maintenance-table';
import type { RunStatus } from './types';

export type { MaintenanceInput } from './maintenance-input';
export type { TableMaintenanceSummary } from './maintenance-table';

export interface MaintenanceSummary {
  target: string;
  /** The clock the run used (input `now` or workflow time). */
  now: string;
  premade: { months: string[]; created: string[]; existing: string[] };
  /** A default partition that holds rows: they block creating the partitions of their months. */
  defaultPartition: { name: string; rows: number } | null;
  retention: { cutoff: string; detached: { partition: string; mode: string }[]; dropped: string[] } | null;
  /** Tombstones pruned by this run, and why (or why they were kept). */
  tombstones?: { pruned: number; reason: string };
  phases: RunStatus['phases'];
}

const acts = proxyActivities<MaintenanceActivities>(SHORT_STEP);
/** DETACH … CONCURRENTLY waits for older transactions to finish: allow it time. */
const detachActs = proxyActivities<MaintenanceActivities>({ ...SHORT_STEP, startToCloseTimeout: '30 minutes' });

/**
 * The runbook's "Partition Maintenance", run by a Temporal Schedule (overlap policy SKIP):
 * premake the current + N months, report a default partition holding rows, detach partitions
 * wholly older than the retention window (CONCURRENTLY where possible) and drop detached ones
 * only when the input enables it.
 */
export async function partitionMaintenance(input: MaintenanceInput = {}): Promise<MaintenanceSummary | TableMaintenanceSummary> {
  // Any range-partitioned table (the form with `table`): maintenance-table.ts. Without it: memory_records, as before.
  if (isTableMaintenanceInput(input)) return tableMaintenance(parseWorkflowInput(() => parseTableMaintenanceInput(input)));
  const s: MaintenanceSettings = parseWorkflowInput(() => parseMaintenanceInput(input));
  const ctl = new RunController('partitionMaintenance', s.target, 'maintenance');
  const now = s.now ?? new Date().toISOString(); // workflow time is deterministic
  // Activities take the connection profile as `profile`.
  const profile = s.connectionProfile;
  const summary: MaintenanceSummary = {
    target: s.target, now, premade: { months: [], created: [], existing: [] }, defaultPartition: null, retention: null, phases: ctl.status.phases,
  };
  try {
    const inspected = await ctl.phase('inspect', () => acts.inspectPartitions({ profile, target: s.target }));
    if (inspected.relkind !== 'p') {
      throw ApplicationFailure.nonRetryable(
        inspected.relkind === null
          ? `${s.target} does not exist: apply 002_partitions.sql first`
          : `${s.target} is not partitioned (relkind ${inspected.relkind}): run the heapToPartitionedConversion workflow first`,
        'PreflightFailed');
    }
    summary.defaultPartition = inspected.defaultPartition && inspected.defaultPartition.rows > 0 ? inspected.defaultPartition : null;
    if (summary.defaultPartition) {
      ctl.note(`default partition ${summary.defaultPartition.name} holds ${summary.defaultPartition.rows} rows: move them into monthly partitions (a month's partition cannot be created while the default holds its rows)`);
    }

    await ctl.phase('premake', async () => {
      const months = Array.from({ length: s.premakeMonths + 1 }, (_, i) => monthStart(now, i));
      const r = await acts.premakePartitions({ profile, target: s.target, months, lockTimeoutMs: s.lockTimeoutMs });
      summary.premade = { months, ...r };
    });

    if (s.retentionMonths !== null) {
      const cutoff = monthStart(now, -s.retentionMonths);
      const ret = { cutoff, detached: [] as { partition: string; mode: string }[], dropped: [] as string[] };
      summary.retention = ret;
      await ctl.phase('retention', async () => {
        // Wholly older: the partition's upper bound is at or before the cutoff month's start.
        // Bounds print in the session time zone they were created in, so their date part is
        // the month boundary create_monthly_partition used.
        const old = inspected.partitions.filter((p) => !p.isDefault && p.to !== null && p.to.slice(0, 10) <= cutoff);
        ctl.setProgress({ done: 0, total: old.length, unit: 'partitions' });
        for (const p of old) {
          ret.detached.push(await detachActs.detachPartition({ profile, target: s.target, partition: p.name, lockTimeoutMs: s.lockTimeoutMs }));
          ctl.setProgress({ done: ret.detached.length, total: old.length, unit: 'partitions' });
        }
      });
      if (s.dropDetached) {
        await ctl.phase('drop detached', async () => {
          ret.dropped = (await acts.dropDetachedPartitions({ profile, cutoff, lockTimeoutMs: s.lockTimeoutMs })).dropped;
        });
      }
    }
    // Deletes after the final cutover still leave tombstones: each maintenance run prunes what the
    // rule allows. A failure is reported, not fatal: the partitions above are done.
    if (patched(PATCHES.maintenancePrunesTombstones.id)) {
      summary.tombstones = await ctl.phase('prune tombstones', () => acts.pruneTombstones({ profile, target: s.target }).catch((err: Error) => {
        ctl.note(`tombstones not pruned: ${err.message}`);
        return { pruned: 0, reason: `not pruned: ${err.message}`.slice(0, 300) };
      }));
    }
    ctl.setState('completed');
    return summary;
  } catch (err) {
    ctl.setState('failed', (err as Error).message);
    throw err;
  }
}
