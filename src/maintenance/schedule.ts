import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';
import { isTableMaintenanceInput, parseMaintenanceInput, parseTableMaintenanceInput, type MaintenanceInput } from '../../workflows/maintenance-input';

export interface MaintenanceScheduleOptions {
  /** Schedule id; also the prefix of each run's workflow id. */
  scheduleId: string;
  /** A cron expression ("0 3 1 * *": 03:00 UTC on the 1st) … */
  cron?: string;
  /** … or an interval such as "1 day", "6 hours" (exactly one of cron/interval). */
  interval?: string;
  /** The workflow input of every run (validated here, as the workflow would). */
  input: MaintenanceInput;
  taskQueue: string;
  /** Created paused (e.g. to review it in the UI first). */
  paused?: boolean;
  note?: string;
}

/**
 * Creates the partitionMaintenance schedule, or updates it in place when it exists (spec,
 * input, task queue). The overlap policy is SKIP: a run never starts while the previous one
 * is still running, whatever fired it. Returns what it did.
 */
export async function upsertMaintenanceSchedule(client: Client, opts: MaintenanceScheduleOptions): Promise<'created' | 'updated'> {
  if (!!opts.cron === !!opts.interval) throw new Error('give exactly one of cron or interval');
  // Fail here, not at 03:00 on the 1st (the `table` form has its own parser, as the workflow dispatches it).
  if (isTableMaintenanceInput(opts.input)) parseTableMaintenanceInput(opts.input);
  else parseMaintenanceInput(opts.input);
  const spec: ScheduleSpec = opts.cron ? { cronExpressions: [opts.cron] } : { intervals: [{ every: opts.interval as never }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'partitionMaintenance',
    workflowId: opts.scheduleId,
    taskQueue: opts.taskQueue,
    args: [opts.input],
    workflowExecutionTimeout: '6 hours' as const,
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' as const, pauseOnFailure: false };
  try {
    await client.schedule.create({
      scheduleId: opts.scheduleId,
      spec,
      action,
      policies,
      state: { paused: opts.paused ?? false, note: opts.note ?? 'partition maintenance (lichen-cutover)' },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(opts.scheduleId).update((prev) => ({
    ...prev,
    spec,
    action,
    policies: { ...prev.policies, ...policies },
    state: { ...prev.state, paused: opts.paused ?? prev.state.paused, note: opts.note ?? prev.state.note },
  }));
  return 'updated';
}
