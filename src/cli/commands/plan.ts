import fs from 'node:fs';
import { InputError } from '../../shared/input-reader';
import { TableNotFoundError } from '../../../activities/conversion/descriptor';
import type { ConversionChoice } from '../../conversion/choice/choice';
import { parseGenericConversionInput } from '../../../workflows/conversion/generic-input';
import { parseConversionInput } from '../../../workflows/conversion-input';
import { memoryRecordsPreset } from '../../../workflows/conversion/one-engine';
import { readInputFile } from '../input-file';
import { planConversion } from '../../../activities/conversion/plan/plan';
import { renderPlan } from '../../../activities/conversion/plan/render';
import { defaultParallelism } from '../../../activities/conversion/generic/snapshot-copy';
import { appSyncBlocker } from '../../../activities/conversion/generic/activities';
import { bool, positionals, requireStr, str } from '../args';
import { NotFoundError, UsageError } from '../exit-codes';
import { profileOf, withProfileClient } from '../db';
import type { Command } from '../command';

const USAGE = `usage: cutover plan conversion [--input FILE.json] --table T --partition-by COLUMN --interval day|week|month|quarter|year [--mode copy|attach]
         [--unique-key NAME=extend|drop …] [--drop-incoming-fks] [--default-partition] [--premake N]
         [--max-partitions N] [--no-maintenance-schedule] [--options FILE.json] [--all] [--profile NAME] [--json]

Reads the table's definition from the catalog and its data (one read-only scan), and prints the
plan of its online conversion to a partitioned table: every blocker with its options, the
options chosen, and every statement each phase will execute, with the row count, the size and
the disk the copy needs; both modes (copy, attach: the heap becomes the history partition, no row
copied) with their cost and the one recommended; --mode picks the one planned (default copy). Nothing is changed.
--input FILE.json reads the run's whole start input (the JSON \`cutover start conversion --input\`
and the Temporal UI's form take: table, partitionBy, mode, options, connectionProfile, copy, …),
checked by the workflow's own parser (a field the run would refuse fails here, named); the flags
add to it or override it (--profile: its connectionProfile). An input without "table" (and no
flag) is memory_records' form: the plan of its preset (monthly by created_at, premakeMonths ahead). With "sync": "app-dual-write" the plan
is the app's (no trigger), and an app that cannot mirror the table now (no live instance on the
control plane, …) is a blocker. --options FILE.json reads {"uniqueKeys": {...}, "incomingForeignKeys": "drop", "defaultPartition": true, …}
(the workflow input's "options"); the flags add to it. --no-maintenance-schedule: the run makes no
partitionMaintenance Schedule for the table (options.maintenance.schedule false; the plan says what that means). --all prints every statement (the text
output abridges long phases; --json always holds them all).
Exit status: 0 no blockers, 1 blockers, 2 usage, 3 no such table, 5 database unreachable.`;

type Obj = Record<string, unknown>;
const objectAt = (o: Obj, k: string): Obj => (typeof o[k] === 'object' && o[k] !== null && !Array.isArray(o[k]) ? { ...(o[k] as Obj) } : {});

/** Input fields the flags set, and the flag each one's error is named by. */
const FLAG_OF: Record<string, string> = { table: '--table', 'partitionBy.column': '--partition-by', 'partitionBy.interval': '--interval', mode: '--mode', connectionProfile: '--profile' };

/**
 * The run the plan is for: `--input FILE.json` (the start input of `cutover start conversion`,
 * the same JSON the Temporal UI's form takes), with the flags added to it, parsed by the
 * workflow's own parser (parseGenericConversionInput): the plan accepts and refuses exactly what
 * the run would.
 */
function runOf(args: Parameters<Command['run']>[0]['args']): { choice: ConversionChoice; profile: string; lanes?: number; appSync: boolean } {
  const inputFile = str(args, 'input');
  const input = readInputFile('plan', inputFile);
  const flagged = new Set<string>();
  const flag = (field: string, name: string, to: (v: string) => void) => {
    const v = str(args, name);
    if (v !== undefined) {
      to(v);
      flagged.add(field);
    }
  };
  flag('table', 'table', (v) => (input.table = v));
  const by = objectAt(input, 'partitionBy');
  flag('partitionBy.column', 'partition-by', (v) => (by.column = v));
  flag('partitionBy.interval', 'interval', (v) => (by.interval = v));
  if ('partitionBy' in input || flagged.has('partitionBy.column') || flagged.has('partitionBy.interval')) input.partitionBy = by;
  flag('mode', 'mode', (v) => (input.mode = v));
  if (str(args, 'profile') !== undefined) {
    input.connectionProfile = profileOf('plan', args);
    flagged.add('connectionProfile');
  }
  // A start input without `table` is memory_records' (the form the runbook's conversion takes): its preset on the one engine.
  if (inputFile && !('table' in input) && flagged.size === 0) return memoryRecordsRun(input, inputFile);
  // What neither the input nor a flag gives: asked for by its flag.
  if (!('table' in input)) requireStr('plan', args, 'table', 'the table to convert, "name" or "schema.name"');
  if (!('column' in by)) requireStr('plan', args, 'partition-by', 'the partition column');
  if (!('interval' in by)) requireStr('plan', args, 'interval', 'day, week, month, quarter or year');

  const options: Obj = objectAt(input, 'options');
  const file = str(args, 'options');
  if (file) {
    if (!fs.existsSync(file)) throw new NotFoundError(`plan: --options ${file} does not exist`);
    try {
      Object.assign(options, JSON.parse(fs.readFileSync(file, 'utf8')));
    } catch (err) {
      throw new UsageError(`plan: --options ${file} is not JSON: ${(err as Error).message}`);
    }
  }
  const keys = [args.values['unique-key']].flat().filter((v): v is string => typeof v === 'string');
  if (keys.length) {
    const uk: Record<string, string> = { ...(options.uniqueKeys as Record<string, string> | undefined) };
    for (const k of keys) {
      const m = /^([^=]+)=(.*)$/.exec(k);
      if (!m) throw new UsageError(`plan: --unique-key must be NAME=extend or NAME=drop, got ${JSON.stringify(k)}`);
      uk[m[1]] = m[2];
    }
    options.uniqueKeys = uk;
  }
  if (bool(args, 'drop-incoming-fks')) options.incomingForeignKeys = 'drop';
  if (bool(args, 'default-partition')) options.defaultPartition = true;
  if (bool(args, 'no-maintenance-schedule')) options.maintenance = { ...(options.maintenance as Obj | undefined), schedule: false };
  for (const [name, field] of [['premake', 'premake'], ['max-partitions', 'maxPartitions']] as const) {
    const v = str(args, name);
    if (v !== undefined) {
      if (!/^\d+$/.test(v)) throw new UsageError(`plan: --${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
      options[field] = Number(v);
    }
  }
  if (Object.keys(options).length || 'options' in input) input.options = options;
  try {
    const s = parseGenericConversionInput(input);
    return { choice: s.choice, profile: s.connectionProfile, lanes: s.copyParallelism, appSync: s.sync === 'app-dual-write' };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    // A field a flag set (or that only a flag can set: no --input) is named by its flag; one of the file by its JSON path.
    const named = FLAG_OF[err.field] && (flagged.has(err.field) || !inputFile) ? `${FLAG_OF[err.field]}: ${err.allowed}` : inputFile ? `--input ${inputFile}: ${err.message}` : err.message;
    throw new UsageError(`plan: ${named}`);
  }
}

/** The plan of memory_records' form (no `table`): parsed by its own parser, then the preset its run takes (workflows/conversion/one-engine.ts). */
function memoryRecordsRun(input: Obj, inputFile: string): ReturnType<typeof runOf> {
  try {
    const g = memoryRecordsPreset(parseConversionInput(input));
    return { choice: g.choice, profile: g.connectionProfile, lanes: g.copyParallelism, appSync: g.sync === 'app-dual-write' };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw new UsageError(`plan: --input ${inputFile}: ${err.message}`);
  }
}

export const plan: Command = {
  name: 'plan',
  summary: 'the plan of a table\'s online conversion to partitioned: blockers, options, every statement',
  usage: USAGE,
  options: {
    input: { type: 'string' }, table: { type: 'string' }, mode: { type: 'string' }, 'partition-by': { type: 'string' }, interval: { type: 'string' }, profile: { type: 'string' },
    'unique-key': { type: 'string', multiple: true }, 'drop-incoming-fks': { type: 'boolean' }, 'default-partition': { type: 'boolean' },
    premake: { type: 'string' }, 'max-partitions': { type: 'string' }, 'no-maintenance-schedule': { type: 'boolean' }, options: { type: 'string' }, all: { type: 'boolean' },
  },
  async run({ io, args }) {
    const [what] = positionals('plan', args, ['kind']);
    if (what !== 'conversion') throw new UsageError(`plan: the only kind is "conversion", got ${JSON.stringify(what)}`);
    const { choice, profile, lanes, appSync } = runOf(args);
    let p;
    try {
      // A new run takes the change-log engine (patch generic-change-log) with copy.parallelism lanes, else the database's cores;
      // with sync "app-dual-write" the row-sync path without a trigger, and the app's state on the control plane is a blocker when it cannot mirror.
      p = await withProfileClient(profile, async (c) => {
        if (!appSync) return planConversion(c, choice, Date.now(), undefined, { changeLog: true, lanes: lanes ?? (await defaultParallelism(c)) });
        const planned = await planConversion(c, choice, Date.now(), undefined, { appSync: true });
        const blocker = planned.phases.length ? await appSyncBlocker(c, planned.table) : null;
        return blocker ? { ...planned, ok: false, blockers: [...planned.blockers, blocker] } : planned;
      });
    } catch (err) {
      if (err instanceof TableNotFoundError) throw new NotFoundError(`plan: ${err.message} (profile ${profile})`);
      throw err;
    }
    io.result({ profile, ...p }, renderPlan(p, { allStatements: bool(args, 'all') }));
    return p.ok ? 0 : 1;
  },
};
