import fs from 'node:fs';
import { upsertMaintenanceSchedule } from '../../maintenance/schedule';
import { validateStartInput, defaultTaskQueue } from '../../client';
import { bool, num, positionals, str } from '../args';
import { NotFoundError, UsageError } from '../exit-codes';
import type { Command } from '../command';

/**
 * `cutover schedule`: creates or updates the partitionMaintenance Temporal Schedule (overlap
 * SKIP) through src/maintenance/schedule.ts. The input is validated here first, as `start` does.
 */
export const schedule: Command = {
  name: 'schedule',
  summary: 'create or update the monthly partition-maintenance Schedule',
  usage: `usage: cutover schedule (--cron EXPR | --every DURATION) [--id ID] [--input FILE.json]
                       [--premake-months N] [--retention-months N] [--task-queue Q] [--paused] [--json]

Creates the partitionMaintenance Schedule, or updates it in place when it exists (overlap
policy SKIP: a run never starts while the previous one runs). Example: --cron "0 3 1 * *"
(03:00 UTC on the 1st) or --every "1 day". Default id: partition-maintenance.`,
  options: {
    id: { type: 'string' },
    cron: { type: 'string' },
    every: { type: 'string' },
    input: { type: 'string' },
    'premake-months': { type: 'string' },
    'retention-months': { type: 'string' },
    'task-queue': { type: 'string' },
    paused: { type: 'boolean' },
  },
  async run({ io, args, client }) {
    positionals('schedule', args, []);
    const cron = str(args, 'cron');
    const every = str(args, 'every');
    if (!!cron === !!every) throw new UsageError('schedule: give exactly one of --cron EXPR or --every DURATION');
    let input: Record<string, unknown> = {};
    const file = str(args, 'input');
    if (file) {
      if (!fs.existsSync(file)) throw new NotFoundError(`schedule: --input ${file} does not exist`);
      try {
        input = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
      } catch (err) {
        throw new UsageError(`schedule: --input ${file} is not valid JSON: ${(err as Error).message}`);
      }
    }
    const premake = num('schedule', args, 'premake-months', { min: 0, integer: true });
    if (premake !== undefined) input.premakeMonths = premake;
    const keep = num('schedule', args, 'retention-months', { min: 1, integer: true });
    if (keep !== undefined) input.retentionMonths = keep;
    validateStartInput('maintenance', input);
    const scheduleId = str(args, 'id') ?? 'partition-maintenance';
    const taskQueue = str(args, 'task-queue') ?? defaultTaskQueue();
    const outcome = await upsertMaintenanceSchedule(await client(), { scheduleId, cron, interval: every, input, taskQueue, paused: bool(args, 'paused') });
    io.result({ scheduleId, outcome, taskQueue, spec: cron ? { cron } : { every }, input }, `schedule ${scheduleId} ${outcome} (${cron ? `cron ${cron}` : `every ${every}`}, task queue ${taskQueue})`);
    return 0;
  },
};
