import { startConversion, startMaintenance, startProductionCutover, validateStartInput, type WorkflowKind } from '../../client';
import { bool, num, positionals, str } from '../args';
import { UsageError } from '../exit-codes';
import { readInputFile } from '../input-file';
import type { Command } from '../command';

const KINDS: WorkflowKind[] = ['production', 'conversion', 'maintenance'];

function sub(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = o[key];
  const obj = typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};
  o[key] = obj;
  return obj;
}

export const start: Command = {
  name: 'start',
  summary: 'start a production cutover, a conversion or a maintenance run',
  usage: `usage: cutover start production|conversion|maintenance [--input FILE.json] [flags]

The input is one JSON object (the same as the Temporal UI's Start Workflow form); flags override
its fields. It is validated here first: a bad input fails before anything is sent. A conversion
input with \`table\` (and \`partitionBy\`) converts that table; without it, memory_records.

  --input FILE          the workflow input (JSON)
  --target TABLE        target table (default memory_records)
  --profile NAME        connection profile the worker resolves (connectionProfile)
  --non-production      allow short monitoring / retention windows (tests, staging)
  --window-minutes N    production: monitoring window (1440–2880, shorter with --non-production)
  --dry-run             production: plan and count the backfill, change nothing
  --retention-minutes N conversion: retention of the old table
  --sync KIND           conversion: trigger (default) or app-dual-write (the app keeps the tables in sync)
  --premake-months N    maintenance: months to premake after the current one
  --retention-months N  maintenance: detach partitions older than this
  --workflow-id ID      default cutover-<kind>-<target> (one run per target at a time)
  --task-queue Q        default LICHEN_TASK_QUEUE or lichen-cutover`,
  options: {
    input: { type: 'string' },
    target: { type: 'string' },
    profile: { type: 'string' },
    'non-production': { type: 'boolean' },
    'window-minutes': { type: 'string' },
    'dry-run': { type: 'boolean' },
    'retention-minutes': { type: 'string' },
    sync: { type: 'string' },
    'premake-months': { type: 'string' },
    'retention-months': { type: 'string' },
    'workflow-id': { type: 'string' },
    'task-queue': { type: 'string' },
  },
  async run({ io, args, client }) {
    const [kind] = positionals('start', args, ['production|conversion|maintenance']);
    if (!KINDS.includes(kind as WorkflowKind)) throw new UsageError(`start: unknown kind ${JSON.stringify(kind)}; allowed: ${KINDS.join(', ')}`);
    const input = readInputFile('start', str(args, 'input'));
    const only = (flag: string, kinds: WorkflowKind[]) => {
      if (args.values[flag] !== undefined && !kinds.includes(kind as WorkflowKind)) throw new UsageError(`start: --${flag} applies to ${kinds.join(', ')} only`);
    };
    only('window-minutes', ['production']);
    only('dry-run', ['production']);
    only('retention-minutes', ['conversion']);
    only('sync', ['conversion']);
    only('premake-months', ['maintenance']);
    only('retention-months', ['maintenance']);
    only('non-production', ['production', 'conversion']);
    if (str(args, 'target') !== undefined) input.target = str(args, 'target');
    if (str(args, 'profile') !== undefined) input.connectionProfile = str(args, 'profile');
    if (bool(args, 'non-production')) input.nonProduction = true;
    if (bool(args, 'dry-run')) input.dryRun = true;
    const window = num('start', args, 'window-minutes', { min: 0 });
    if (window !== undefined) sub(input, 'monitoring').windowMinutes = window;
    const retention = num('start', args, 'retention-minutes', { min: 0, integer: true });
    if (retention !== undefined) input.retentionMinutes = retention;
    if (str(args, 'sync') !== undefined) input.sync = str(args, 'sync'); // validated with the input below
    const premake = num('start', args, 'premake-months', { min: 0, integer: true });
    if (premake !== undefined) input.premakeMonths = premake;
    const keep = num('start', args, 'retention-months', { min: 1, integer: true });
    if (keep !== undefined) input.retentionMonths = keep;

    // Fail on a bad input before connecting anywhere.
    validateStartInput(kind as WorkflowKind, input);
    const opts = { taskQueue: str(args, 'task-queue'), workflowId: str(args, 'workflow-id') };
    const c = await client();
    const h =
      kind === 'production' ? await startProductionCutover(c, input, opts)
      : kind === 'conversion' ? await startConversion(c, input, opts)
      : await startMaintenance(c, input, opts);
    const taskQueue = opts.taskQueue ?? (process.env.LICHEN_TASK_QUEUE || 'lichen-cutover');
    io.result(
      { workflowId: h.workflowId, runId: h.firstExecutionRunId, kind, taskQueue, input: h.resolved },
      `started ${kind} ${h.workflowId} (run ${h.firstExecutionRunId}) on task queue ${taskQueue}\n` +
        `follow it:  cutover watch ${h.workflowId}\n` +
        `audit it:   cutover audit ${h.workflowId}`,
    );
    return 0;
  },
};
