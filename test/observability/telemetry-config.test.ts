import { describe, expect, it } from 'vitest';
import { metricsTelemetry } from '../../src/worker/telemetry';
import { startTracing, tracingEnabled } from '../../src/telemetry/tracing';
import { withBoolComparisons } from '../helpers/prometheus';

describe('the observability settings', () => {
  it('LICHEN_METRICS_ADDRESS turns on the Prometheus exporter with _total counters and seconds; unset, nothing', () => {
    expect(metricsTelemetry({})).toBeUndefined();
    expect(metricsTelemetry({ LICHEN_METRICS_ADDRESS: '  ' })).toBeUndefined();
    const t = metricsTelemetry({ LICHEN_METRICS_ADDRESS: '0.0.0.0:9464' });
    expect(t?.metrics).toMatchObject({ prometheus: { bindAddress: '0.0.0.0:9464', countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } });
    expect(metricsTelemetry({ LICHEN_METRICS_ADDRESS: '[::1]:9464' })).toBeDefined();
  });

  it('a malformed LICHEN_METRICS_ADDRESS is refused, naming the variable and the form allowed', () => {
    for (const bad of ['9464', 'http://127.0.0.1:9464', '127.0.0.1:0', '127.0.0.1:70000', 'host:port', '127.0.0.1:9464/metrics']) {
      expect(() => metricsTelemetry({ LICHEN_METRICS_ADDRESS: bad }), bad).toThrow(/^LICHEN_METRICS_ADDRESS: expected host:port/);
    }
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT turns tracing on; a value that is not an http(s) URL is refused by name', () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(startTracing('x', {})).toBeUndefined();
    expect(() => startTracing('x', { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/^OTEL_EXPORTER_OTLP_ENDPOINT: expected an http/);
  });

  it('an alert expression\'s measure: bool on its top-level comparisons only', () => {
    expect(withBoolComparisons('sum by (instance) (increase(x_total[10m])) > 0')).toBe('sum by (instance) (increase(x_total[10m])) > bool 0');
    expect(withBoolComparisons('a{state=~"w|x",b!="c"} * on (w) (b == 1) >= 4 * 3600')).toBe('a{state=~"w|x",b!="c"} * on (w) (b == 1) >= bool 4 * 3600');
    expect(withBoolComparisons('x > bool 3')).toBe('x > bool 3');
    expect(withBoolComparisons('x{l=">"} != 2')).toBe('x{l=">"} != bool 2');
  });
});
