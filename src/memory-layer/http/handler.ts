import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrimaryUnavailableError, RecordConflictError, SecondaryFailFastError, type DualStore } from '../storage/dual-store';
import type { ServiceMetrics } from '../metrics';
import { FencedError } from '../lease';
import type { Logger } from '../logger';
import type { Orphans } from '../orphans';
import { makeTokenCheck } from './auth';
import { MAX_STREAM_ROWS, streamExport } from './export-stream';
import { readJson, send } from './respond';
import { recordToJson } from '../../shared/record-wire';
import { BadInputError, parseCreate, parseCursor, parseIso, parseLimit, parseQuery, parseUpdate, parseUuid } from './validate';

export interface HandlerDeps {
  instanceId: string;
  dual: DualStore;
  metrics: ServiceMetrics;
  /** Memory-only records after a return from being forgotten (orphans.ts). */
  orphans?: Orphans;
  adminToken: string;
  logger: Logger;
}

const RECORD_PATH = /^\/records\/([^/]+)$/;

/** The HTTP API (records, health, metrics, admin); its contract is ./API.md — keep the two in step. */
export function createHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const authorized = makeTokenCheck(deps.adminToken);
  const { dual } = deps;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path === '/healthz') {
      requireMethod(method, ['GET']);
      return send(res, 200, { ok: true, instanceId: deps.instanceId, mode: dual.mode, epoch: dual.epoch });
    }
    if (path === '/metrics') {
      requireMethod(method, ['GET']);
      return send(res, 200, await deps.metrics.text(), deps.metrics.registry.contentType);
    }
    if (path === '/records') {
      if (method === 'POST') {
        parseQuery(url.searchParams, []);
        const input = parseCreate(await readJson(req), () => crypto.randomUUID());
        return send(res, 201, recordToJson(await dual.create(input)));
      }
      requireMethod(method, ['GET', 'POST']);
      const q = parseQuery(url.searchParams, ['ownerId', 'limit']);
      if (!q.ownerId) throw new BadInputError('ownerId', 'ownerId is required');
      const records = await dual.listByOwner(q.ownerId, parseLimit(q.limit, 100, 1000));
      return send(res, 200, { records: records.map(recordToJson) });
    }
    const m = RECORD_PATH.exec(path);
    if (m) {
      requireMethod(method, ['GET', 'PUT', 'DELETE']);
      parseQuery(url.searchParams, []);
      const id = parseUuid(decodeURIComponent(m[1]), 'id');
      if (method === 'GET') {
        const r = await dual.get(id);
        return r ? send(res, 200, recordToJson(r)) : notFound(res, id);
      }
      if (method === 'PUT') {
        const patch = parseUpdate(await readJson(req));
        const r = await dual.update(id, patch);
        return r ? send(res, 200, recordToJson(r)) : notFound(res, id);
      }
      return (await dual.remove(id)) ? send(res, 204) : notFound(res, id);
    }
    if (path.startsWith('/admin/')) {
      if (!authorized(req)) {
        res.setHeader('www-authenticate', 'Bearer');
        return send(res, 401, { error: 'admin API: missing or wrong bearer token (Authorization: Bearer <token>)' });
      }
      requireMethod(method, ['GET']);
      return admin(path, url.searchParams, res);
    }
    send(res, 404, { error: `no route ${method} ${path}` });
  }

  function admin(path: string, params: URLSearchParams, res: ServerResponse): void | Promise<void> {
    const memory = dual.memory;
    switch (path) {
      case '/admin/export-stream': {
        // COPY text, streamed page by page (copy-text.ts): the backfill's read side.
        const q = parseQuery(params, ['after', 'limit', 'from', 'to']);
        return streamExport(res, memory, parseCursor(q.after), parseLimit(q.limit, 100_000, MAX_STREAM_ROWS), range(q));
      }
      case '/admin/export': {
        const q = parseQuery(params, ['after', 'limit', 'from', 'to']);
        const page = memory.exportPage(parseCursor(q.after), parseLimit(q.limit, 1000, 10_000), range(q));
        return send(res, 200, { records: page.records.map(recordToJson), nextCursor: page.nextCursor });
      }
      case '/admin/newest': {
        // The newest records of a range (the health check's sampled parity looks at recent writes).
        const q = parseQuery(params, ['limit', 'from', 'to']);
        const records = memory.newest(parseLimit(q.limit, 100, 10_000), range(q));
        return send(res, 200, { records: records.map(recordToJson) });
      }
      case '/admin/checksum': {
        const q = parseQuery(params, ['from', 'to']);
        return send(res, 200, memory.checksum(range(q)));
      }
      case '/admin/stats': {
        parseQuery(params, []);
        const s = memory.stats();
        return send(res, 200, {
          instanceId: deps.instanceId,
          count: s.count,
          minCreatedAt: s.minCreatedAt?.toISOString() ?? null,
          maxCreatedAt: s.maxCreatedAt?.toISOString() ?? null,
          mode: dual.mode,
          epoch: dual.epoch,
          writes: { ...dual.counts },
        });
      }
      case '/admin/records': {
        const q = parseQuery(params, ['ids']);
        const ids = (q.ids ?? '').split(',').filter((s) => s !== '');
        if (ids.length === 0) throw new BadInputError('ids', 'ids is required: comma-separated uuids');
        if (ids.length > 1000) throw new BadInputError('ids', 'ids takes at most 1000 uuids');
        const parsed = ids.map((id) => parseUuid(id, 'ids'));
        // Quarantined records (Postgres cannot store them) are not part of what a cutover compares.
        const records = parsed.map((id) => memory.getSync(id)).filter((r): r is NonNullable<typeof r> => r !== null && !memory.isQuarantined(r.id));
        // Ids this store remembers deleting: positive evidence that a row elsewhere is stale.
        const deleted = parsed.filter((id) => memory.isDeleted(id));
        // Held here but left out above (Postgres cannot store them): a row of one in Postgres is no stray.
        const quarantined = parsed.filter((id) => memory.isQuarantined(id));
        return send(res, 200, { records: records.map(recordToJson), deleted, quarantined });
      }
      case '/admin/quarantine': {
        // Records this store holds that Postgres cannot (storage/memory-store.ts, QUARANTINE).
        // `after=<createdAt>|<id>` of the last record of the previous answer pages on (oldest first).
        const q = parseQuery(params, ['limit', 'after']);
        return send(res, 200, memory.quarantined(parseLimit(q.limit, 1000, 10_000), parseCursor(q.after)));
      }
      case '/admin/orphans': {
        // After a return from being forgotten: what only this memory holds (compared with Postgres now).
        const q = parseQuery(params, ['limit']);
        const limit = parseLimit(q.limit, 1000, 10_000);
        if (!deps.orphans) return send(res, 200, { instanceId: deps.instanceId, forgotten: null, scannedAt: null, total: 0, records: [], deleted: [], quarantined: 0 });
        return deps.orphans.report(limit).then((r) => send(res, 200, { ...r, records: r.records.map(recordToJson) }));
      }
      default:
        return send(res, 404, { error: `no admin route ${path}` });
    }
  }

  return async (req, res) => {
    try {
      await route(req, res);
    } catch (err) {
      if (res.headersSent) return void res.destroy();
      if (err instanceof BadInputError) return send(res, 400, { error: err.message, field: err.field });
      if (err instanceof MethodNotAllowed) {
        res.setHeader('allow', err.allowed.join(', '));
        return send(res, 405, { error: err.message });
      }
      if (err instanceof RecordConflictError) return send(res, 409, { error: err.message, field: 'id' });
      if (err instanceof FencedError) {
        res.setHeader('retry-after', String(err.retryAfterSeconds));
        return send(res, 503, { error: err.message, fenced: true });
      }
      if (err instanceof PrimaryUnavailableError || err instanceof SecondaryFailFastError) {
        return send(res, 503, { error: err.message });
      }
      deps.logger.error('request failed', { method: req.method, path: req.url?.split('?')[0], error: (err as Error).message });
      send(res, 500, { error: 'internal error' });
    }
  };
}

class MethodNotAllowed extends Error {
  constructor(
    method: string,
    readonly allowed: string[],
  ) {
    super(`method ${method} is not allowed here; allowed: ${allowed.join(', ')}`);
  }
}

function requireMethod(method: string, allowed: string[]): void {
  if (!allowed.includes(method)) throw new MethodNotAllowed(method, allowed);
}

function notFound(res: ServerResponse, id: string): void {
  send(res, 404, { error: `record ${id} not found` });
}

function range(q: Record<string, string | undefined>): { from?: Date; to?: Date } {
  return {
    from: q.from === undefined ? undefined : parseIso(q.from, 'from'),
    to: q.to === undefined ? undefined : parseIso(q.to, 'to'),
  };
}
