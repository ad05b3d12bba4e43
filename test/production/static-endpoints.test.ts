import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { checkStaticEndpoint, ENDPOINT_ALLOW_ENV, ENDPOINT_ALLOW_HTTP_ENV } from '../../src/config/endpoint-policy';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 1, seed: 20, months: 1 });

/** A server on this machine's first non-loopback address that records every request it gets. */
let capture: { server: http.Server; url: string; requests: string[] };
const outsideAddress = Object.values(os.networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4')?.address;

beforeAll(async () => {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} auth=${req.headers.authorization ? 'yes' : 'no'}`);
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, outsideAddress ?? '0.0.0.0', resolve));
  capture = { server, url: `http://${outsideAddress}:${(server.address() as AddressInfo).port}`, requests };
});
afterAll(async () => {
  await new Promise((r) => capture?.server.close(r));
});

describe('static app endpoints', () => {
  it.skipIf(!outsideAddress)('refuses at start an endpoint outside the allow-list, naming it and the setting; no request reaches it', async () => {
    const taskQueue = temporal.taskQueue('prod-static');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const input = {
      nonProduction: true,
      apps: { discovery: 'static', endpoints: [{ instanceId: env.apps.instances[0].instanceId, adminUrl: env.apps.instances[0].url }, { instanceId: 'collector', adminUrl: capture.url }] },
    };
    const outcome = await w
      .runUntil(temporal.client.workflow.execute('productionCutover', { taskQueue, workflowId: `prod-static-${taskQueue}`, args: [input as never] }))
      .then((r) => JSON.stringify(r), (e: unknown) => { const parts: string[] = []; for (let x = e as { message?: string; cause?: unknown } | undefined; x; x = x.cause as typeof x) parts.push(String(x.message)); return parts.join(' <- '); });
    expect(outcome).toContain(`static endpoint of collector (${capture.url}) refused`);
    expect(outcome).toContain(ENDPOINT_ALLOW_ENV);
    expect(capture.requests).toEqual([]);
    // Nothing changed: the control row was never switched off memory.
    const ctl = await env.db.pool.query(`SELECT persistence FROM cutover_control`);
    expect(ctl.rows.every((r) => r.persistence === 'memory')).toBe(true);
  });

  it('allows loopback, listed hosts and networks (https, or http when configured), and nothing else', () => {
    const allow = (url: string, e: Record<string, string> = {}) => {
      try {
        checkStaticEndpoint('i', url, e);
        return 'ok';
      } catch (err) {
        return (err as Error).message;
      }
    };
    const cfg = { [ENDPOINT_ALLOW_ENV]: 'app-1.internal, *.apps.internal,10.1.0.0/16, fd00::/8' };
    expect(allow('http://127.0.0.1:8080')).toBe('ok');
    expect(allow('http://localhost:1')).toBe('ok');
    expect(allow('http://[::1]:1')).toBe('ok');
    expect(allow('https://app-1.internal', cfg)).toBe('ok');
    expect(allow('https://x.apps.internal:8443', cfg)).toBe('ok');
    expect(allow('https://10.1.200.3', cfg)).toBe('ok');
    expect(allow('https://[fd00::5]:9', cfg)).toBe('ok');
    expect(allow('https://evil.example', cfg)).toMatch(new RegExp(`evil.example is not in the worker's ${ENDPOINT_ALLOW_ENV}`));
    expect(allow('https://apps.internal', cfg)).toMatch(/not in the worker's/);
    expect(allow('https://app-1.internal.evil.example', cfg)).toMatch(/not in the worker's/);
    expect(allow('https://10.2.0.1', cfg)).toMatch(/not in the worker's/);
    expect(allow('https://192.0.2.2')).toMatch(/\(unset; loopback is always allowed\)/);
    expect(allow('http://app-1.internal', cfg)).toMatch(new RegExp(`plain http off loopback .* ${ENDPOINT_ALLOW_HTTP_ENV}=true`));
    expect(allow('http://app-1.internal', { ...cfg, [ENDPOINT_ALLOW_HTTP_ENV]: 'true' })).toBe('ok');
    expect(allow('https://user:pw@app-1.internal', cfg)).toMatch(/carries credentials/);
    expect(allow('https://user:pw@app-1.internal', cfg)).not.toContain('pw');
    expect(allow('ftp://127.0.0.1')).toMatch(/only http\(s\)/);
    expect(allow('file:///etc/passwd')).toMatch(/only http\(s\)/);
    expect(allow('not a url')).toMatch(/does not parse/);
  });
});
