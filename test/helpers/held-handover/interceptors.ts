import { workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

/**
 * Test-only workflow interceptor (bundled by ../held-handover.ts, never in the product's bundle):
 * holds a hand-over's new run on a task queue no worker polls yet, so a test can queue messages
 * for it and then start a worker: they land in the new run's first activation. The first run
 * that hands over with a gate condition carried (a conversion's retention saw drift) or, for a
 * production cutover, with a pause carried goes to `<queue>~h1`, the run after it to
 * `<queue>~h2`; every other hand-over stays on its queue.
 */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      async continueAsNew(input, next) {
        const queue = workflowInfo().taskQueue;
        const ctl = (input.args[0] as { continued?: { ctl?: { conditions?: unknown[]; paused?: boolean } } } | undefined)?.continued?.ctl;
        const hold = workflowInfo().workflowType === 'productionCutover' ? !!ctl?.paused : (ctl?.conditions?.length ?? 0) > 0;
        let to: string | undefined;
        if (queue.endsWith('~h1')) to = `${queue.slice(0, -3)}~h2`;
        else if (!queue.includes('~h') && hold) to = `${queue}~h1`;
        return next(to ? { ...input, options: { ...input.options, taskQueue: to } } : input);
      },
    },
  ],
});
