import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { inject } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { startWorkerMain, type WorkerMain } from '../helpers/worker-main';
import { freePort } from '../helpers/prometheus';
import { seedHeap } from '../conversion/harness';
import { connectClient } from '../../src/client/connect';
import { shutdownTracing } from '../../src/telemetry/tracing';
import { approveUpdate, statusQuery } from '../../workflows/messages';

/**
 * OTEL_EXPORTER_OTLP_ENDPOINT on the client (src/client/connect.ts) and on `npm run worker`,
 * pointed at an OTLP/HTTP receiver in this test that keeps every span it is sent (the
 * exporter's JSON encoding). One cutover must be one trace: the client's StartWorkflow span,
 * the workflow's RunWorkflow span, and a RunActivity span for every activity it scheduled.
 */
interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: { key: string; value: { stringValue?: string } }[] }
interface OtlpRequest { resourceSpans: { resource?: { attributes?: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] }

const heap = useTestDatabase('heap');
const received: { service: string; span: OtlpSpan }[] = [];
const contentTypes = new Set<string>();
let receiver: http.Server;
let endpoint: string;
let worker: WorkerMain | undefined;
let client: Client;

beforeAll(async () => {
  const port = await freePort();
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      contentTypes.add(`${req.method} ${req.url} ${req.headers['content-type']}`);
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const msg = JSON.parse(body) as OtlpRequest;
        for (const rs of msg.resourceSpans) {
          const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans) for (const span of ss.spans) received.push({ service, span });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${port}`;
  await seedHeap(heap.pool, 800, 2);
});

afterAll(async () => {
  await worker?.stop();
  await shutdownTracing();
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  await client?.connection.close();
  await new Promise((r) => receiver?.close(r));
});

describe('traces over OTLP/HTTP', () => {
  it('one conversion is one trace: StartWorkflow, RunWorkflow and a RunActivity span for each of its activities', async () => {
    const taskQueue = `tracing-${process.pid}-${Date.now().toString(36)}`;
    worker = await startWorkerMain({ LICHEN_TASK_QUEUE: taskQueue, LICHEN_DB_PROFILE_HEAP: heap.url, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    expect(worker.output()).toContain('"tracing":"otlp/http"');
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
    client = await connectClient({ address: inject('temporalAddress'), namespace: inject('temporalNamespace') });

    const workflowId = `traced-${taskQueue}`;
    const handle = await client.workflow.start('heapToPartitionedConversion', {
      taskQueue,
      workflowId,
      args: [{ connectionProfile: 'heap', nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false }, copy: { batchSize: 200 } }],
    });
    const t0 = Date.now();
    while ((await handle.query(statusQuery)).state !== 'waiting-for-approval') {
      if (Date.now() - t0 > 60_000) throw new Error(`no approval gate: ${JSON.stringify(await handle.query(statusQuery)).slice(0, 1000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await handle.executeUpdate(approveUpdate, { args: [{ operator: 'sre', reason: 'tracing test' }] });
    await handle.result();

    // The activities the run scheduled, from its history.
    const history = await handle.fetchHistory();
    const scheduled = new Set(history.events!.flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : [])));
    expect(scheduled.size).toBeGreaterThan(5);

    await shutdownTracing(); // the client's spans
    const hasAll = () => {
      const names = new Set(received.map((r) => r.span.name));
      return [...scheduled].every((a) => names.has(`RunActivity:${a}`)) && names.has('RunWorkflow:heapToPartitionedConversion');
    };
    const t1 = Date.now();
    while (!hasAll() && Date.now() - t1 < 20_000) await new Promise((r) => setTimeout(r, 250));

    const start = received.find((r) => r.span.name === 'StartWorkflow:heapToPartitionedConversion');
    expect(start, [...contentTypes].join('; ')).toBeDefined();
    expect(start!.service).toBe('lichen-cutover-client');
    expect(start!.span.parentSpanId || undefined).toBeUndefined(); // the root
    const trace = received.filter((r) => r.span.traceId === start!.span.traceId);
    const names = trace.map((r) => r.span.name);
    expect(names, JSON.stringify(received.map((r) => [r.service, r.span.name, r.span.traceId.slice(0, 6), r.span.parentSpanId?.slice(0, 6)]).slice(0, 40))).toContain('RunWorkflow:heapToPartitionedConversion');
    for (const activity of scheduled) expect(names, activity).toContain(`RunActivity:${activity}`);
    expect(trace.filter((r) => r.span.name.startsWith('RunActivity:')).every((r) => r.service === 'lichen-cutover-worker')).toBe(true);
    // Every span of the trace hangs under another span of it (one tree).
    const ids = new Set(trace.map((r) => r.span.spanId));
    for (const r of trace) if (r !== start) expect(ids.has(r.span.parentSpanId ?? ''), `${r.span.name} has its parent in the trace`).toBe(true);
    // Nothing of the run's execution went to another trace (queries and updates from the
    // client are traces of their own).
    const ofRun = received.filter((r) => /^(RunWorkflow|StartActivity|RunActivity):/.test(r.span.name) && r.span.attributes?.some((a) => a.key === 'temporalWorkflowId' && a.value.stringValue === workflowId));
    expect(ofRun.length).toBeGreaterThan(0);
    expect(new Set(ofRun.map((r) => r.span.traceId))).toEqual(new Set([start!.span.traceId]));
  });
});
