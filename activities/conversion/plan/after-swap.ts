import { spellTable } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import { defaultPartitionName, nextStart, type PartitionType } from '../../../src/conversion/choice/intervals';

/**
 * How the table keeps working after the swap (part of the plan): the partitions the run keeps
 * ahead, the table's partitionMaintenance Schedule — or why there is none — and exactly what
 * happens to a write dated beyond the partitions. Pure.
 */
export interface AfterSwap {
  /** Intervals kept ahead of the current one: by the run (before the swap and at its end, from its own clock) and then by the Schedule. */
  premake: number;
  /** Partitions exist up to this instant (exclusive, UTC) at the plan's time. */
  partitionsUntil: string | null;
  defaultPartition: string | null;
  /** What a write dated beyond the partitions does, before and after the swap. */
  beyondRange: string;
  maintenance:
    | { schedule: true; scheduleId: string; everyHours: number; input: { table: string; premake: number } }
    | { schedule: false; why: string };
}

/** The Schedule of a converted table: one per database and table (a namespace may serve several databases), so a second conversion updates it. */
export function maintenanceScheduleId(d: Pick<TableDescriptor, 'schema' | 'name'>, database: string): string {
  return `partition-maintenance:${database ? `${database}:` : ''}${spellTable(d)}`;
}

const day = (t: number) => new Date(t).toISOString().slice(0, 10);

/** `[first, end)` of the interval starts, as UTC days. */
export function rangeText(choice: ConversionChoice, _type: PartitionType | null, starts: number[]): string {
  if (!starts.length) return 'the premade range';
  return `[${day(starts[0])}, ${day(nextStart(choice.interval, starts[starts.length - 1]))}) UTC`;
}

export function afterSwapPlan(d: Pick<TableDescriptor, 'schema' | 'name'>, choice: ConversionChoice, _type: PartitionType | null, starts: number[], database = ''): AfterSwap {
  const o = choice.options;
  const until = starts.length ? new Date(nextStart(choice.interval, starts[starts.length - 1])).toISOString() : null;
  const dflt = o.defaultPartition ? defaultPartitionName(d.name) : null;
  const schedule = o.maintenance.schedule;
  const kept = schedule
    ? `the maintenance Schedule keeps ${o.premake} ${choice.interval}(s) ahead of its own clock every ${o.maintenance.everyHours} h`
    : `nothing keeps partitions ahead after the run (options.maintenance.schedule is false)`;
  const beyondRange = dflt
    ? `before and after the swap a write outside every ${choice.interval} partition goes to the DEFAULT partition ${dflt} (a partition for a range then cannot be created while ${dflt} holds rows of that range: maintenance reports it)`
    : `before the swap a write dated beyond the premade partitions is accepted: the sync records its key and the run creates its partition and replays it before parity and inside the swap; after the swap ${kept}, and a write dated beyond the partitions that exist is refused by Postgres (23514 "no partition of relation … found for row") — choose options.defaultPartition to accept any date`;
  return {
    premake: o.premake,
    partitionsUntil: until,
    defaultPartition: dflt,
    beyondRange,
    maintenance: schedule
      ? { schedule: true, scheduleId: maintenanceScheduleId(d, database), everyHours: o.maintenance.everyHours, input: { table: spellTable(d), premake: o.premake } }
      : { schedule: false, why: `options.maintenance.schedule is false: no partitionMaintenance Schedule is made for ${spellTable(d)}; after ${until ?? 'the premade range'} (and as the clock moves) writes are refused unless partitions are made — run partitionMaintenance {"table": "${spellTable(d)}"} yourself (npm run maintenance:schedule)` },
  };
}
