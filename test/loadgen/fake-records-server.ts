import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RecordJson } from '../../src/shared/record-wire';

/**
 * A tiny in-test HTTP app implementing just the records endpoints of the API contract (and the
 * two admin reads the instances reader uses) over a Map. It is not a database mock: it exists
 * to exercise the load generator's client logic (pacing, routing, failure handling) against a
 * real HTTP server whose behaviour the test controls.
 */
/** A record as the API sends it. */
export type FakeRecord = RecordJson;

export type Fault =
  /** Answer with `status` without applying the write. */
  | { kind: 'refuse'; status: number }
  /** Apply the write, then answer with `status` (e.g. dual-write fail-fast after the primary). */
  | { kind: 'apply-then-fail'; status: number }
  /** Never answer (the client's timeout must fire). */
  | { kind: 'hang' };

export interface FakeServer {
  url: string;
  records: Map<string, FakeRecord>;
  /** Owners seen per request, in arrival order. */
  ownersSeen: Set<string>;
  /** Requests by method. */
  hits: Record<string, number>;
  /** Moments when two requests for the same record id were in flight at once. */
  overlaps: string[];
  /** Most records-API requests being handled at the same time. */
  maxConcurrent: number;
  /** Decides a fault per write request (null = behave). */
  fault: (req: { method: string; id: string; n: number }) => Fault | null;
  /** Artificial per-request delay, ms. */
  delayMs: (n: number) => number;
  adminToken: string;
  close(): Promise<void>;
}

export async function startFakeServer(adminToken = 'fake-admin-token'): Promise<FakeServer> {
  const records = new Map<string, FakeRecord>();
  const inFlightIds = new Set<string>();
  const hanging = new Set<http.ServerResponse>();
  let n = 0;
  let active = 0;
  const state: Omit<FakeServer, 'url' | 'close'> = {
    records,
    ownersSeen: new Set(),
    hits: {},
    overlaps: [],
    maxConcurrent: 0,
    fault: () => null,
    delayMs: () => 0,
    adminToken,
  };

  const nextUpdatedAt = (prev?: string) => {
    const now = Date.now();
    const floor = prev ? Date.parse(prev) + 1 : now;
    return new Date(Math.max(now, floor)).toISOString();
  };
  const send = (res: http.ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const method = req.method ?? 'GET';
      state.hits[method] = (state.hits[method] ?? 0) + 1;
      if (url.pathname.startsWith('/admin/')) return admin(url, req, res);
      const reqNo = n++;
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      const id: string = method === 'POST' ? body.id : decodeURIComponent(url.pathname.split('/')[2] ?? '');
      if (inFlightIds.has(id)) state.overlaps.push(`${method} ${id}`);
      inFlightIds.add(id);
      state.maxConcurrent = Math.max(state.maxConcurrent, ++active);
      setTimeout(() => {
        inFlightIds.delete(id);
        active--;
        const fault = state.fault({ method, id, n: reqNo });
        if (fault?.kind === 'hang') {
          hanging.add(res);
          return;
        }
        if (fault?.kind === 'refuse') return send(res, fault.status, { error: 'injected refusal' });
        const [status, out] = apply(method, url, id, body);
        if (fault?.kind === 'apply-then-fail') return send(res, fault.status, { error: 'injected failure after applying' });
        send(res, status, out);
      }, state.delayMs(reqNo));
    });
  });

  function apply(method: string, url: URL, id: string, body: Record<string, unknown> | undefined): [number, unknown] {
    if (method === 'POST' && url.pathname === '/records') {
      const b = body as Record<string, string>;
      state.ownersSeen.add(b.ownerId);
      const createdAt = b.createdAt ? new Date(b.createdAt).toISOString() : new Date().toISOString();
      const rec: FakeRecord = {
        id,
        ownerId: b.ownerId,
        agentId: null,
        kind: b.kind ?? 'note',
        content: b.content,
        metadata: (body?.metadata as Record<string, unknown>) ?? {},
        createdAt,
        updatedAt: nextUpdatedAt(),
      };
      records.set(id, rec);
      return [201, rec];
    }
    const rec = records.get(id);
    if (!rec) return [404, { error: `record ${id} not found` }];
    state.ownersSeen.add(rec.ownerId);
    if (method === 'PUT') {
      Object.assign(rec, body, { updatedAt: nextUpdatedAt(rec.updatedAt) });
      return [200, rec];
    }
    if (method === 'DELETE') {
      records.delete(id);
      return [204, undefined];
    }
    return [405, { error: `method ${method} not supported by the fake` }];
  }

  function admin(url: URL, req: http.IncomingMessage, res: http.ServerResponse) {
    if (req.headers.authorization !== `Bearer ${adminToken}`) return send(res, 401, { error: 'unauthorized' });
    if (url.pathname === '/admin/records') {
      const ids = (url.searchParams.get('ids') ?? '').split(',').filter(Boolean);
      return send(res, 200, { records: ids.flatMap((i) => (records.has(i) ? [records.get(i)] : [])) });
    }
    if (url.pathname === '/admin/export') {
      const limit = Number(url.searchParams.get('limit') ?? '100');
      const after = url.searchParams.get('after');
      const [afterAt, afterId] = after ? [Date.parse(after.split('|')[0]), after.split('|')[1]] : [-Infinity, ''];
      const sorted = [...records.values()]
        .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id.localeCompare(b.id))
        .filter((r) => Date.parse(r.createdAt) > afterAt || (Date.parse(r.createdAt) === afterAt && r.id > afterId));
      const page = sorted.slice(0, limit);
      const last = page[page.length - 1];
      return send(res, 200, { records: page, nextCursor: sorted.length > limit ? { createdAt: last.createdAt, id: last.id } : null });
    }
    send(res, 404, { error: 'not found' });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
