import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { SearchAttributePair, Workflow } from '@temporalio/common';
import { InputError } from '../../workflows/common/validate';
import { parseProductionInput, type ProductionCutoverInput, type ProductionSettings } from '../../workflows/production-input';
import { parseConversionInput, type ConversionInput, type ConversionSettings } from '../../workflows/conversion-input';
import { isGenericConversionInput, parseGenericConversionInput, type GenericConversionSettings } from '../../workflows/conversion/generic-input';
import { tableText } from '../conversion/choice/choice';
import { parseMaintenanceInput, type MaintenanceInput, type MaintenanceSettings } from '../../workflows/maintenance-input';
import type { productionCutover } from '../../workflows/production';
import type { heapToPartitionedConversion } from '../../workflows/conversion';
import type { partitionMaintenance } from '../../workflows/maintenance';
import { CUTOVER_KIND, CUTOVER_TARGET } from '../shared/search-attributes';
import { CutoverAlreadyRunningError, InvalidCutoverInputError } from './errors';
import { summarizeConversion, summarizeGenericConversion, summarizeMaintenance, summarizeProduction } from './start-details';

/** The task queue the worker polls unless `LICHEN_TASK_QUEUE` says otherwise. */
export const DEFAULT_TASK_QUEUE = 'lichen-cutover';

export function defaultTaskQueue(env: NodeJS.ProcessEnv = process.env): string {
  return env.LICHEN_TASK_QUEUE || DEFAULT_TASK_QUEUE;
}

export interface StartOptions {
  /** Default: `LICHEN_TASK_QUEUE` or "lichen-cutover". */
  taskQueue?: string;
  /** Default: `cutover-<kind>-<target>`, so a second start for the same target is refused. */
  workflowId?: string;
}

export type WorkflowKind = 'production' | 'conversion' | 'maintenance';

export const WORKFLOW_TYPES: Record<WorkflowKind, string> = {
  production: 'productionCutover',
  conversion: 'heapToPartitionedConversion',
  maintenance: 'partitionMaintenance',
};

const KIND_LABEL: Record<WorkflowKind, string> = {
  production: 'production cutover',
  conversion: 'heap-to-partitioned conversion',
  maintenance: 'partition maintenance run',
};

export function defaultWorkflowId(kind: WorkflowKind, target: string): string {
  return `cutover-${kind}-${target}`;
}

/** Local validation with the workflow's own rules: a bad input fails before anything is sent. */
function validated<T>(fn: () => T, input?: unknown): T {
  // The carried state of a run that continued as new: only the workflow writes it.
  if (typeof input === 'object' && input !== null && 'continued' in input) {
    throw new InvalidCutoverInputError('continued', 'continued: written by the workflow itself when a run continues as new (bounded histories); a start never sets it');
  }
  try {
    return fn();
  } catch (err) {
    if (err instanceof InputError) throw new InvalidCutoverInputError(err.field, err.message);
    throw err;
  }
}

async function start<W extends Workflow>(
  client: Client,
  kind: WorkflowKind,
  target: string,
  input: unknown,
  summary: { staticSummary: string; staticDetails: string },
  opts: StartOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<W>> {
  const workflowId = opts.workflowId ?? defaultWorkflowId(kind, target);
  const typedSearchAttributes: SearchAttributePair[] = [
    { key: CUTOVER_TARGET, value: target },
    { key: CUTOVER_KIND, value: kind },
  ];
  try {
    return (await client.workflow.start(WORKFLOW_TYPES[kind], {
      taskQueue: opts.taskQueue ?? defaultTaskQueue(),
      workflowId,
      args: [input],
      // One run per workflow id at a time: a second start for the same target is refused.
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes,
      ...summary,
    })) as unknown as WorkflowHandleWithFirstExecutionRunId<W>;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      const running = await client.workflow.getHandle(workflowId).describe().catch(() => undefined);
      throw new CutoverAlreadyRunningError(KIND_LABEL[kind], target, workflowId, running?.runId);
    }
    throw err;
  }
}

/** Validates a start input with the workflow's own rules (no connection needed). Throws InvalidCutoverInputError. */
export function validateStartInput(kind: WorkflowKind, input: unknown): ProductionSettings | ConversionSettings | GenericConversionSettings | MaintenanceSettings {
  return validated(() => (kind === 'production' ? parseProductionInput(input) : kind === 'conversion' ? parseAnyConversion(input) : parseMaintenanceInput(input)), input);
}

/** A conversion's input as the workflow reads it: with `table` any table's, without it memory_records'. */
function parseAnyConversion(input: unknown): ConversionSettings | GenericConversionSettings {
  return isGenericConversionInput(input) ? parseGenericConversionInput(input) : parseConversionInput(input);
}

/** Starts `productionCutover`. Throws InvalidCutoverInputError or CutoverAlreadyRunningError. */
export async function startProductionCutover(
  client: Client,
  input: ProductionCutoverInput,
  opts: StartOptions = {},
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof productionCutover> & { resolved: ProductionSettings }> {
  const resolved = validated(() => parseProductionInput(input), input);
  const h = await start<typeof productionCutover>(client, 'production', resolved.target, input, summarizeProduction(resolved), opts);
  return Object.assign(h, { resolved });
}

/** Starts `heapToPartitionedConversion`: of memory_records, or of any table (an input with `table`). */
export async function startConversion(
  client: Client,
  input: ConversionInput | Record<string, unknown>,
  opts: StartOptions = {},
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof heapToPartitionedConversion> & { resolved: ConversionSettings | GenericConversionSettings }> {
  const resolved = validated(() => parseAnyConversion(input), input);
  const [target, summary] = 'choice' in resolved ? [tableText(resolved.choice.table), summarizeGenericConversion(resolved)] : [resolved.target, summarizeConversion(resolved)];
  const h = await start<typeof heapToPartitionedConversion>(client, 'conversion', target, input, summary, opts);
  return Object.assign(h, { resolved });
}

/** Starts one `partitionMaintenance` run (the Schedule starts the others). */
export async function startMaintenance(
  client: Client,
  input: MaintenanceInput,
  opts: StartOptions = {},
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof partitionMaintenance> & { resolved: MaintenanceSettings }> {
  const resolved = validated(() => parseMaintenanceInput(input));
  const h = await start<typeof partitionMaintenance>(client, 'maintenance', resolved.target, input, summarizeMaintenance(resolved), opts);
  return Object.assign(h, { resolved });
}
