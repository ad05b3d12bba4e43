import fs from 'node:fs';
import { InputError } from '../../../workflows/common/validate';
import { TableNotFoundError } from '../../../activities/conversion/descriptor';
import { parseConversionChoice, type ConversionChoice } from '../../../activities/conversion/plan/choice';
import { planConversion } from '../../../activities/conversion/plan/plan';
import { renderPlan } from '../../../activities/conversion/plan/render';
import { bool, positionals, requireStr, str } from '../args';
import { NotFoundError, UsageError } from '../exit-codes';
import { profileOf, withProfileClient } from '../db';
import type { Command } from '../command';

const USAGE = `usage: cutover plan conversion --table T --partition-by COLUMN --interval day|week|month|quarter|year [--mode copy|attach]
         [--unique-key NAME=extend|drop …] [--drop-incoming-fks] [--default-partition] [--premake N]
         [--max-partitions N] [--no-maintenance-schedule] [--options FILE.json] [--all] [--profile NAME] [--json]

Reads the table's definition from the catalog and its data (one read-only scan), and prints the
plan of its online conversion to a partitioned table: every blocker with its options, the
options chosen, and every statement each phase will execute, with the row count, the size and
the disk the copy needs; both modes (copy, attach: the heap becomes the history partition, no row
copied) with their cost and the one recommended; --mode picks the one planned (default copy). Nothing is changed.
--options FILE.json reads {"uniqueKeys": {...}, "incomingForeignKeys": "drop", "defaultPartition": true, …}
(the workflow input's "options"); the flags add to it. --no-maintenance-schedule: the run makes no
partitionMaintenance Schedule for the table (options.maintenance.schedule false; the plan says what that means). --all prints every statement (the text
output abridges long phases; --json always holds them all).
Exit status: 0 no blockers, 1 blockers, 2 usage, 3 no such table, 5 database unreachable.`;

function choiceOf(args: Parameters<Command['run']>[0]['args']): ConversionChoice {
  const options: Record<string, unknown> = {};
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
  if (bool(args, 'no-maintenance-schedule')) options.maintenance = { ...(options.maintenance as Record<string, unknown> | undefined), schedule: false };
  for (const [flag, field] of [['premake', 'premake'], ['max-partitions', 'maxPartitions']] as const) {
    const v = str(args, flag);
    if (v !== undefined) {
      if (!/^\d+$/.test(v)) throw new UsageError(`plan: --${flag} must be a non-negative integer, got ${JSON.stringify(v)}`);
      options[field] = Number(v);
    }
  }
  try {
    return parseConversionChoice({
      table: requireStr('plan', args, 'table', 'the table to convert, "name" or "schema.name"'),
      partitionBy: { column: requireStr('plan', args, 'partition-by', 'the partition column'), interval: requireStr('plan', args, 'interval', 'day, week, month, quarter or year') },
      ...(Object.keys(options).length ? { options } : {}),
      ...(str(args, 'mode') !== undefined ? { mode: str(args, 'mode') } : {}),
    });
  } catch (err) {
    if (err instanceof InputError) throw new UsageError(`plan: ${err.message.replace(/^partitionBy\.column/, '--partition-by').replace(/^partitionBy\.interval/, '--interval').replace(/^table/, '--table').replace(/^mode/, '--mode')}`);
    throw err;
  }
}

export const plan: Command = {
  name: 'plan',
  summary: 'the plan of a table\'s online conversion to partitioned: blockers, options, every statement',
  usage: USAGE,
  options: {
    table: { type: 'string' }, mode: { type: 'string' }, 'partition-by': { type: 'string' }, interval: { type: 'string' }, profile: { type: 'string' },
    'unique-key': { type: 'string', multiple: true }, 'drop-incoming-fks': { type: 'boolean' }, 'default-partition': { type: 'boolean' },
    premake: { type: 'string' }, 'max-partitions': { type: 'string' }, 'no-maintenance-schedule': { type: 'boolean' }, options: { type: 'string' }, all: { type: 'boolean' },
  },
  async run({ io, args }) {
    const [what] = positionals('plan', args, ['kind']);
    if (what !== 'conversion') throw new UsageError(`plan: the only kind is "conversion", got ${JSON.stringify(what)}`);
    const choice = choiceOf(args);
    const profile = profileOf('plan', args);
    let p;
    try {
      p = await withProfileClient(profile, (c) => planConversion(c, choice));
    } catch (err) {
      if (err instanceof TableNotFoundError) throw new NotFoundError(`plan: ${err.message} (profile ${profile})`);
      throw err;
    }
    io.result({ profile, ...p }, renderPlan(p, { allStatements: bool(args, 'all') }));
    return p.ok ? 0 : 1;
  },
};
