import type { TelemetryOptions } from '@temporalio/worker';
import { LOCK_SECONDS_BUCKETS } from '../../activities/lib/metrics';

/**
 * The worker runtime's metrics: with LICHEN_METRICS_ADDRESS (host:port, e.g. 127.0.0.1:9464)
 * the Temporal runtime serves Prometheus text on http://<address>/metrics: the SDK's own worker
 * metrics (temporal_*: task slots, schedule-to-start latency, sticky cache, polls) and the
 * cutover's (lichen_cutover_*, emitted through the same runtime meter by the workflows and the
 * activities). Counters end in _total, durations are in seconds with a _seconds suffix.
 */
export function metricsTelemetry(env: NodeJS.ProcessEnv = process.env): TelemetryOptions | undefined {
  const raw = env.LICHEN_METRICS_ADDRESS?.trim();
  if (!raw) return undefined;
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new Error(`LICHEN_METRICS_ADDRESS: expected host:port with a port from 1 to 65535 (e.g. 127.0.0.1:9464 or 0.0.0.0:9464), got "${raw}"`);
  }
  const buckets = Object.fromEntries(['lichen_cutover_swap_lock', 'lichen_cutover_mode_barrier', 'lichen_cutover_throttle_pause'].map((n) => [n, LOCK_SECONDS_BUCKETS]));
  return {
    metrics: {
      prometheus: { bindAddress: raw, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true, histogramBucketOverrides: buckets },
    },
  };
}
