import type { OrphanReport } from '../../src/memory-layer/orphans';
import type { MemoryRecord, RecordCursor } from '../../src/memory-layer/record';
import type { Checksum } from '../../src/memory-layer/checksum';
import { recordFromJson, type RecordJson } from '../../src/shared/record-wire';

/**
 * Client of one app instance's admin API (see README "Admin API"). The token is resolved by the
 * worker and never leaves this process: it is not logged and not part of any error message.
 */
export interface InstanceRef {
  instanceId: string;
  adminUrl: string;
}

export interface InstanceStats {
  instanceId: string;
  count: number;
  minCreatedAt: string | null;
  maxCreatedAt: string | null;
  mode: unknown;
  epoch: number;
}

export class AdminApiError extends Error {
  constructor(
    public readonly instance: string,
    public readonly status: number,
    message: string,
  ) {
    super(`admin API of ${instance}: ${message}`);
    this.name = 'AdminApiError';
  }
}

/** Ids per /admin/records request (about 7.4 KiB of query string). */
export const LOOKUP_CHUNK = 200;

export class AdminClient {
  constructor(
    private readonly instance: InstanceRef,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {}

  private url(path: string, params: Record<string, string | undefined>): URL {
    const url = new URL(path, this.instance.adminUrl.endsWith('/') ? this.instance.adminUrl : `${this.instance.adminUrl}/`);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    return url;
  }

  private async get<T>(path: string, params: Record<string, string | undefined> = {}): Promise<T> {
    const url = this.url(path, params);
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new AdminApiError(this.instance.instanceId, 0, `unreachable at ${this.instance.adminUrl} (${(err as Error).message})`);
    }
    if (!res.ok) {
      const body = (await res.text().catch(() => '')).slice(0, 300);
      throw new AdminApiError(this.instance.instanceId, res.status, `${path} answered ${res.status}${res.status === 401 ? ' (check the admin token reference)' : ''}: ${body}`);
    }
    return (await res.json()) as T;
  }

  stats(): Promise<InstanceStats> {
    return this.get<InstanceStats>('admin/stats');
  }

  /** After a return from being forgotten: what only this instance's memory holds (src/memory-layer/orphans.ts). */
  async orphans(limit: number): Promise<Omit<OrphanReport, 'records'> & { records: MemoryRecord[] }> {
    const r = await this.get<Omit<OrphanReport, 'records'> & { records: RecordJson[] }>('admin/orphans', { limit: String(limit) });
    return { ...r, records: r.records.map(recordFromJson) };
  }

  async exportPage(opts: { after?: RecordCursor | null; limit: number; from?: string; to?: string }): Promise<{ records: MemoryRecord[]; nextCursor: RecordCursor | null }> {
    const r = await this.get<{ records: RecordJson[]; nextCursor: RecordCursor | null }>('admin/export', {
      after: opts.after ? `${opts.after.createdAt}|${opts.after.id}` : undefined,
      limit: String(opts.limit),
      from: opts.from,
      to: opts.to,
    });
    return { records: r.records.map(recordFromJson), nextCursor: r.nextCursor };
  }

  /**
   * The export as a COPY text stream (copy-text.ts) of up to `limit` records after `after`.
   * Resolves once the app answered; the body is read as it arrives. Null when the instance has
   * no such endpoint (an older app: the caller falls back to exportPage).
   */
  async exportStream(opts: { after?: RecordCursor | null; limit: number; from?: string; to?: string; signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array> | null> {
    const url = this.url('admin/export-stream', {
      after: opts.after ? `${opts.after.createdAt}|${opts.after.id}` : undefined,
      limit: String(opts.limit),
      from: opts.from,
      to: opts.to,
    });
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${this.token}` }, signal: opts.signal });
    } catch (err) {
      throw new AdminApiError(this.instance.instanceId, 0, `unreachable at ${this.instance.adminUrl} (${(err as Error).message})`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok || !res.body) {
      const body = (await res.text().catch(() => '')).slice(0, 300);
      throw new AdminApiError(this.instance.instanceId, res.status, `admin/export-stream answered ${res.status}${res.status === 401 ? ' (check the admin token reference)' : ''}: ${body}`);
    }
    return res.body as unknown as AsyncIterable<Uint8Array>;
  }

  /** The newest `limit` records created in [from, to), newest first. */
  async newest(opts: { limit: number; from: string; to: string }): Promise<MemoryRecord[]> {
    const r = await this.get<{ records: RecordJson[] }>('admin/newest', { limit: String(opts.limit), from: opts.from, to: opts.to });
    return r.records.map(recordFromJson);
  }

  /** Records this instance holds that Postgres cannot store (GET /admin/quarantine), oldest first; `after` (`<createdAt>|<id>` of the last one listed) pages on. */
  quarantine(limit = 1000, after?: string): Promise<{ total: number; records: { id: string; createdAt: string; updatedAt?: string; field: string; reason: string }[] }> {
    return this.get('admin/quarantine', { limit: String(limit), after });
  }

  checksum(from: string, to: string): Promise<Checksum> {
    return this.get<Checksum>('admin/checksum', { from, to });
  }

  async records(ids: string[]): Promise<MemoryRecord[]> {
    return (await this.lookup(ids)).records;
  }

  /**
   * The records this instance holds among `ids`, and the ids it remembers deleting. Asked in
   * chunks of LOOKUP_CHUNK ids: the ids travel in the query string, and Node refuses request
   * headers over 16 KiB (431) at about 450 uuids, so any number of ids works.
   */
  async lookup(ids: string[]): Promise<{ records: MemoryRecord[]; deleted: string[]; quarantined: string[] }> {
    const out: { records: MemoryRecord[]; deleted: string[]; quarantined: string[] } = { records: [], deleted: [], quarantined: [] };
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
      const r = await this.get<{ records: RecordJson[]; deleted?: string[]; quarantined?: string[] }>('admin/records', { ids: ids.slice(i, i + LOOKUP_CHUNK).join(',') });
      out.records.push(...r.records.map(recordFromJson));
      out.deleted.push(...(r.deleted ?? []));
      out.quarantined.push(...(r.quarantined ?? []));
    }
    return out;
  }

  async metricsText(): Promise<string> {
    const base = this.instance.adminUrl.endsWith('/') ? this.instance.adminUrl : `${this.instance.adminUrl}/`;
    const res = await fetch(new URL('metrics', base), { signal: AbortSignal.timeout(this.timeoutMs) }).catch((err: Error) => {
      throw new AdminApiError(this.instance.instanceId, 0, `metrics unreachable (${err.message})`);
    });
    if (!res.ok) throw new AdminApiError(this.instance.instanceId, res.status, `/metrics answered ${res.status}`);
    return res.text();
  }
}
