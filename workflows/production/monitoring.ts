import type { HealthReport, MetricsSnapshot } from '../../activities/production/health';
import { scan, short, type ProductionRun } from './run';
import { repairDataLoss } from './data-loss';
import { isHandOver } from '../common/continuation';
import { checkpoint } from './continuation-state';

/** Enough consecutive unhealthy checks: the runbook's "cutover has issues". */
export class MonitoringIssue extends Error {
  readonly report: HealthReport;
  constructor(report: HealthReport) {
    super(report.reasons.join('; '));
    this.report = report;
  }
}

/** The app's metrics before the switch: the start of the latency baseline. */
export function baselineStart(run: ProductionRun): Promise<MetricsSnapshot> {
  return short.metricsSnapshot({ apps: run.appsRef, instances: run.instances });
}

/** Write latency since `start` (memory primary, dual-write on): the baseline health is judged by. */
export async function measureBaseline(run: ProductionRun, start: MetricsSnapshot): Promise<{ p99Ms: number | null; snapshot: MetricsSnapshot }> {
  const baseline = await short.latencySince({ apps: run.appsRef, instances: run.instances, since: start });
  run.result.monitoring.baselineP99Ms = baseline.p99Ms;
  return baseline;
}

/**
 * Runbook step 6: the monitoring window (24–48 h, extendable; an approval of
 * `end-monitoring` ends it early), a health check every few minutes. Returns the issue when
 * `health.unhealthyChecks` checks in a row were unhealthy (the caller takes the "cutover has
 * issues" branch); repairs in place when a check finds data loss.
 */
export async function monitor(run: ProductionRun, baselineP99Ms: number | null): Promise<MonitoringIssue | undefined> {
  const { ctl, input, result } = run;
  // A window a previous run began (bounded histories) goes on with what it carried.
  const carried = run.locals.monitor;
  const previousAtStart: MetricsSnapshot = carried?.previous ?? (await short.metricsSnapshot({ apps: run.appsRef, instances: run.instances }));
  const state = (run.locals.monitor = carried ?? { window: {}, previous: previousAtStart, unhealthyInARow: 0 });
  let previous = state.previous;
  let unhealthyInARow = state.unhealthyInARow;
  const tick = async () => {
    const report = await scan.healthCheck({
      ...run.common,
      table: input.target,
      apps: run.appsRef,
      instances: run.instances,
      previous,
      baselineP99Ms,
      thresholds: {
        maxDualWriteFailures: input.health.maxDualWriteFailures,
        maxLatencyRatio: input.health.maxLatencyRatio,
        latencyFloorMs: input.health.latencyFloorMs,
        paritySample: input.health.paritySample,
      },
    });
    previous = state.previous = report.snapshot;
    run.lastHealth = report;
    result.monitoring.checks++;
    result.monitoring.lastHealth = withoutSnapshot(report);
    ctl.setLastHealth(withoutSnapshot(report));
    unhealthyInARow = state.unhealthyInARow = report.verdict === 'unhealthy' ? unhealthyInARow + 1 : 0;
    if (unhealthyInARow >= input.health.unhealthyChecks) throw new MonitoringIssue(report);
    if (report.verdict === 'unhealthy') ctl.note(`health check ${result.monitoring.checks}: unhealthy (${report.reasons.join('; ')}); ${unhealthyInARow}/${input.health.unhealthyChecks} before rollback`);
    if (report.verdict === 'data-loss') await repairDataLoss(run, report);
  };
  try {
    // An approval of end-monitoring carried from the previous run still ends the window.
    ctl.offerGate('end-monitoring', { keepApproval: !!carried });
    const ended = await ctl.phase('monitoring', () =>
      ctl.window({
        minutes: input.monitoring.windowMinutes,
        tickMinutes: input.monitoring.healthCheckEveryMinutes,
        endEarly: () => !!ctl.approved('end-monitoring'),
        tick,
        state: state.window,
        afterTick: () => checkpoint(run, 'switch'),
      }),
    );
    result.monitoring.endedBy = ended === 'ended-early' ? `approval by ${ctl.approved('end-monitoring')?.operator}` : 'window elapsed';
    run.locals.monitor = undefined;
    return undefined;
  } catch (err) {
    if (isHandOver(err)) throw err; // the window goes on in the next run
    run.locals.monitor = undefined;
    if (err instanceof MonitoringIssue) return err;
    throw err;
  } finally {
    ctl.closeGate();
  }
}

function withoutSnapshot(r: HealthReport): Omit<HealthReport, 'snapshot'> {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { snapshot, ...rest } = r;
  return rest;
}
