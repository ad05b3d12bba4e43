import { metricMeter, workflowInfo } from '@temporalio/workflow';
import type { RunStatus } from '../types';

/**
 * The run's phase, state, progress and open approval as gauges, emitted from workflow code
 * through the SDK's workflow metric meter (a sink: no history events, no activity, and nothing
 * is emitted while the workflow replays). The worker's runtime serves them on its Prometheus
 * endpoint (LICHEN_METRICS_ADDRESS) next to the SDK's own metrics; the meter adds the
 * namespace, task_queue and workflow_type labels.
 *
 *   lichen_cutover_phase{workflow_id,target,phase}                  1 for the current phase, 0 for the ones before
 *   lichen_cutover_state{workflow_id,target,state}                  1 for the current state, 0 for the others
 *   lichen_cutover_phase_started_timestamp_seconds{workflow_id,target}  when the current phase began (Unix seconds, workflow time)
 *   lichen_cutover_last_change_timestamp_seconds{workflow_id,target}    when the run's status last changed (phase, state or progress)
 *   lichen_cutover_progress_done{workflow_id,target,phase,unit}     the phase's progress (unit: rows, months, checks, seconds, …)
 *   lichen_cutover_progress_total{workflow_id,target,phase,unit}    the phase's total
 *   lichen_cutover_progress_rate{workflow_id,target,phase,unit}     units per second
 *   lichen_cutover_eta_seconds{workflow_id,target,phase}            the phase's estimated time left
 *   lichen_cutover_approval_waiting{workflow_id,target,gate}        1 while the run waits for the approval of `gate` (or an operator's decision: gate "operator-decision")
 *   lichen_cutover_waiting_since_timestamp_seconds{workflow_id,target}  when the current wait for an approval or decision began; 0 when not waiting
 *
 * Gauges live in the worker process: after a worker restart a run's series reappear with its
 * next status change (a replayed history emits nothing).
 */

export const RUN_STATES: readonly RunStatus['state'][] = [
  'running', 'paused', 'waiting-for-approval', 'waiting-for-operator', 'rolling-back', 'completed', 'rolled-back', 'aborted', 'failed',
];

type Gauge = ReturnType<typeof metricMeter.createGauge>;

/** Minutes are reported in seconds (base units); other units as the workflow counts them. */
function baseUnit(unit: string, value: number): { unit: string; value: number } {
  if (unit === 'min') return { unit: 'seconds', value: value * 60 };
  return { unit: /^[a-z_]{1,20}$/.test(unit) ? unit : 'units', value };
}

const nonNegative = (v: number): number => (Number.isFinite(v) && v > 0 ? v : 0);

export class RunMetrics {
  private gauges?: Record<'phase' | 'state' | 'phaseStarted' | 'lastChange' | 'done' | 'total' | 'rate' | 'eta' | 'waiting' | 'waitingSince', Gauge>;
  private lastPhase?: string;
  private lastState?: string;
  private lastGate?: string;
  private started = false;

  private g() {
    if (!this.gauges) {
      const f = (name: string, help: string, unit?: string) => metricMeter.createGauge(name, 'float', unit, help);
      this.gauges = {
        phase: f('lichen_cutover_phase', 'The run\'s current phase (1) and the phases before it (0).'),
        state: f('lichen_cutover_state', 'The run\'s current state (1) and the others (0).'),
        phaseStarted: f('lichen_cutover_phase_started_timestamp_seconds', 'When the current phase began (Unix seconds).'),
        lastChange: f('lichen_cutover_last_change_timestamp_seconds', 'When the run\'s status last changed (Unix seconds).'),
        done: f('lichen_cutover_progress_done', 'Progress of the current phase: units done.'),
        total: f('lichen_cutover_progress_total', 'Progress of the current phase: units in all.'),
        rate: f('lichen_cutover_progress_rate', 'Progress of the current phase: units per second.'),
        eta: f('lichen_cutover_eta_seconds', 'Estimated seconds left in the current phase.'),
        waiting: f('lichen_cutover_approval_waiting', 'The run waits for the approval of gate (1).'),
        waitingSince: f('lichen_cutover_waiting_since_timestamp_seconds', 'When the current wait for an approval or an operator began (Unix seconds; 0: not waiting).'),
      };
    }
    return this.gauges;
  }

  /**
   * Emits the run's status (called wherever the status is rendered). `gate`: the approval
   * gate the run is blocked on, if any. Deterministic: reads workflow time and state only.
   */
  emit(status: RunStatus, gate: string | undefined): void {
    const g = this.g();
    const run = { workflow_id: workflowInfo().workflowId, target: status.target };
    const nowS = Date.now() / 1000; // workflow time
    if (status.phase !== this.lastPhase) {
      if (this.lastPhase !== undefined) g.phase.set(0, { ...run, phase: this.lastPhase });
      this.lastPhase = status.phase;
      const entry = status.phases[status.phases.length - 1];
      g.phaseStarted.set(entry && entry.phase === status.phase ? Date.parse(entry.startedAt) / 1000 : nowS, run);
    }
    g.phase.set(1, { ...run, phase: status.phase });
    if (status.state !== this.lastState) {
      for (const state of RUN_STATES) g.state.set(state === status.state ? 1 : 0, { ...run, state });
      this.lastState = status.state;
    }
    const waitingGate = status.state === 'waiting-for-approval' ? gate ?? 'unknown' : status.state === 'waiting-for-operator' ? 'operator-decision' : undefined;
    if (waitingGate !== this.lastGate || !this.started) {
      if (this.lastGate !== undefined) g.waiting.set(0, { ...run, gate: this.lastGate });
      if (waitingGate !== undefined) g.waiting.set(1, { ...run, gate: waitingGate });
      g.waitingSince.set(waitingGate !== undefined ? nowS : 0, run);
      this.lastGate = waitingGate;
    }
    const p = status.progress;
    if (p) {
      const done = baseUnit(p.unit, p.done);
      const total = baseUnit(p.unit, p.total);
      const labels = { ...run, phase: status.phase, unit: done.unit };
      g.done.set(nonNegative(done.value), labels);
      g.total.set(nonNegative(total.value), labels);
      if (p.ratePerSec !== undefined) g.rate.set(nonNegative(baseUnit(p.unit, p.ratePerSec).value), labels);
      if (p.etaSeconds !== undefined) g.eta.set(nonNegative(p.etaSeconds), { ...run, phase: status.phase });
    }
    g.lastChange.set(nowS, run);
    this.started = true;
  }
}
