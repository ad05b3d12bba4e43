import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

/**
 * Traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set (the OpenTelemetry convention, e.g.
 * http://127.0.0.1:4318): Temporal's OpenTelemetry plugin on the client, the worker and the
 * workflows, spans exported over OTLP/HTTP (protobuf) to `$OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces`
 * (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). The exporter reads the other OTEL_EXPORTER_OTLP_*
 * variables itself (headers, timeout); OTEL_SERVICE_NAME overrides the service name.
 *
 * One cutover is one trace: the client's StartWorkflow span is the root, the workflow's span
 * its child, and every activity a span under it. The tracer provider is registered once per
 * process (the demo runs client and worker together).
 */
export interface Tracing {
  /** For `new Client({ plugins })` and `Worker.create({ plugins })`. */
  plugin: OpenTelemetryPlugin;
  /** Flushes spans still buffered; call before the process exits. */
  shutdown(): Promise<void>;
}

let current: Tracing | undefined;

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/** The process's tracing, started on first use; undefined when no OTLP endpoint is configured. */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (!tracingEnabled(env)) return undefined;
  if (current) return current;
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
    const v = env[name]?.trim();
    if (v && !/^https?:\/\/[^\s/]+/.test(v)) throw new Error(`${name}: expected an http:// or https:// URL (e.g. http://127.0.0.1:4318), got "${v}"`);
  }
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || serviceName });
  const spanProcessor: SpanProcessor = new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: 1000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register(); // W3C trace context and an AsyncLocalStorage context manager: spans nest across awaits
  const tracing: Tracing = {
    plugin: new OpenTelemetryPlugin({ resource, spanProcessor, tracer: trace.getTracer('lichen-cutover') }),
    async shutdown() {
      await provider.forceFlush().catch(() => undefined);
      await provider.shutdown().catch(() => undefined);
      if (current === tracing) current = undefined;
    },
  };
  current = tracing;
  return tracing;
}

/** Plugins for a Client or a Worker: the tracing plugin when tracing is on. */
export function tracingPlugins(serviceName: string): OpenTelemetryPlugin[] {
  const t = startTracing(serviceName);
  return t ? [t.plugin] : [];
}

/** Flushes and stops the process's tracing, if started (the CLI, before it exits). */
export async function shutdownTracing(): Promise<void> {
  await current?.shutdown();
}
