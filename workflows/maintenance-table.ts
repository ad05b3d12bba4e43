import { proxyActivities } from '@temporalio/workflow';
import type { MaintenanceActivities } from '../activities/maintenance';
import { DEFAULT_PREMAKE, floorTo, intervalStarts, nextStart, type PartitionInterval } from '../src/conversion/choice/intervals';
import { spellTable } from '../src/conversion/choice/names';
import { RunController } from './common/run-controller';
import { SHORT_STEP } from './common/timeouts';
import type { TableMaintenanceSettings } from './maintenance-input';
import type { RunStatus } from './types';

export interface TableMaintenanceSummary {
  table: string;
  column: string;
  /** Read from the table's partitions. */
  interval: PartitionInterval;
  now: string;
  premade: { starts: string[]; created: string[]; existing: string[] };
  defaultPartition: { name: string; rows: number } | null;
  retention: { cutoff: string; detached: { partition: string; mode: string }[]; dropped: string[] } | null;
  phases: RunStatus['phases'];
}

const acts = proxyActivities<MaintenanceActivities>(SHORT_STEP);
/** DETACH … CONCURRENTLY waits for older transactions to finish: allow it time. */
const detachActs = proxyActivities<MaintenanceActivities>({ ...SHORT_STEP, startToCloseTimeout: '30 minutes' });

/**
 * Partition maintenance of any range-partitioned table (the `table` form of the input): inspect
 * (the interval the partitions use), premake the current + N intervals, report a default
 * partition holding rows, detach partitions wholly older than the retention window, drop them
 * only when enabled. Names and bounds follow src/conversion/choice/intervals.ts (UTC).
 */
export async function tableMaintenance(s: TableMaintenanceSettings): Promise<TableMaintenanceSummary> {
  const label = spellTable(s.table);
  const ctl = new RunController('partitionMaintenance', label, 'maintenance');
  const now = s.now ?? new Date().toISOString(); // workflow time is deterministic
  const profile = s.connectionProfile;
  try {
    const t = await ctl.phase('inspect', () => acts.inspectTable({ profile, table: s.table }));
    const summary: TableMaintenanceSummary = {
      table: spellTable(t), column: t.column, interval: t.interval, now,
      premade: { starts: [], created: [], existing: [] }, defaultPartition: null, retention: null, phases: ctl.status.phases,
    };
    ctl.note(`${summary.table}: partitioned by ${t.interval} on ${t.column} (${t.type}), ${t.partitions.length} partition(s)`);
    summary.defaultPartition = t.defaultPartition && t.defaultPartition.rows > 0 ? t.defaultPartition : null;
    if (summary.defaultPartition) ctl.note(`default partition ${summary.defaultPartition.name} holds ${summary.defaultPartition.rows} rows: a partition cannot be created for a range the default holds rows of`);
    const at = Date.parse(now);
    await ctl.phase('premake', async () => {
      const ahead = s.premake ?? DEFAULT_PREMAKE[t.interval];
      let end = floorTo(t.interval, at);
      for (let i = 0; i < ahead; i++) end = nextStart(t.interval, end);
      const starts = intervalStarts(t.interval, at, end, ahead + 1);
      const r = await acts.premakeTablePartitions({ profile, schema: t.schema, name: t.name, type: t.type, interval: t.interval, starts, lockTimeoutMs: s.lockTimeoutMs });
      summary.premade = { starts: starts.map((x) => new Date(x).toISOString()), ...r };
    });
    if (s.retain !== null) {
      // The cutoff: the start of the interval `retain` intervals before the current one.
      const starts: number[] = [];
      for (let x = floorTo(t.interval, at), i = 0; i <= s.retain; i++) {
        starts.push(x);
        x = floorTo(t.interval, x - 1); // the previous interval's start
      }
      const cutoff = starts[starts.length - 1];
      const ret = { cutoff: new Date(cutoff).toISOString(), detached: [] as { partition: string; mode: string }[], dropped: [] as string[] };
      summary.retention = ret;
      await ctl.phase('retention', async () => {
        const old = t.partitions.filter((p) => !p.isDefault && p.to !== null && p.to <= cutoff);
        ctl.setProgress({ done: 0, total: old.length, unit: 'partitions' });
        for (const p of old) {
          ret.detached.push(await detachActs.detachTablePartition({ profile, schema: t.schema, name: t.name, partition: p.name, lockTimeoutMs: s.lockTimeoutMs }));
          ctl.setProgress({ done: ret.detached.length, total: old.length, unit: 'partitions' });
        }
      });
      if (s.dropDetached && ret.detached.length) {
        await ctl.phase('drop detached', async () => {
          ret.dropped = (await acts.dropDetachedTablePartitions({ profile, schema: t.schema, name: t.name, partitions: ret.detached.map((d) => d.partition), lockTimeoutMs: s.lockTimeoutMs })).dropped;
        });
      }
    }
    ctl.setState('completed');
    return summary;
  } catch (err) {
    ctl.setState('failed', (err as Error).message);
    throw err;
  }
}
