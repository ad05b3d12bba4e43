import { createHttpClient } from './http-client';
import { normaliseInstances } from './load-options';
import { chunks, type StoreReader, type StoredRecord } from './store-reader';

/**
 * Reads the in-process memory stores of running instances through their admin API
 * (`/admin/records?ids=` for lookups, `/admin/export` to list an owner's ids). Every instance is
 * read, not just the one an owner is routed to: a record that landed on the wrong instance,
 * or on two, is then visible to the oracle.
 */
export function instancesReader(
  urls: readonly string[],
  adminToken: string,
  opts: { idsPerRequest?: number; pageSize?: number; timeoutMs?: number } = {},
): StoreReader {
  const instances = normaliseInstances('urls', urls);
  if (typeof adminToken !== 'string' || adminToken.length === 0) throw new Error('instancesReader: adminToken must be a non-empty string');
  const client = createHttpClient({ timeoutMs: opts.timeoutMs ?? 30_000, maxSockets: 8 });
  // 100 uuids keep the request line under 4 KB (Node's default header limit is 16 KB).
  const idsPerRequest = opts.idsPerRequest ?? 100;
  const pageSize = opts.pageSize ?? 1000;
  const auth = { authorization: `Bearer ${adminToken}` };

  const getJson = async (url: string, what: string): Promise<unknown> => {
    const res = await client.request('GET', url, undefined, auth);
    if (res.status !== 200) {
      const detail = (res.json as { error?: unknown } | undefined)?.error ?? res.text.slice(0, 200);
      throw new Error(`instancesReader: ${what} answered HTTP ${res.status}${detail ? `: ${String(detail)}` : ''}${res.status === 401 ? ' (check the admin token)' : ''}`);
    }
    return res.json;
  };

  return {
    description: `memory stores of ${instances.length} instance(s) ${instances.join(', ')}`,
    async readByIds(ids) {
      const out: StoredRecord[] = [];
      const work = chunks(ids, idsPerRequest);
      let next = 0;
      // A few chunks at a time: a large log is thousands of requests, one at a time is slow.
      const worker = async () => {
        while (next < work.length) {
          const chunk = work[next++];
          const pages = await Promise.all(
            instances.map((base) =>
              getJson(`${base}/admin/records?ids=${chunk.join(',')}`, `${base}/admin/records`).then((j) => recordsOf(j, `${base}/admin/records`)),
            ),
          );
          for (const recs of pages) out.push(...recs);
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, work.length) }, worker));
      return out;
    },
    async idsOfOwners(ownerIds) {
      const wanted = new Set(ownerIds);
      const perInstance = await Promise.all(instances.map((base) => exportIds(getJson, base, pageSize, wanted)));
      return perInstance.flat();
    },
    async close() {
      client.close();
    },
  };
}

async function exportIds(
  getJson: (url: string, what: string) => Promise<unknown>,
  base: string,
  pageSize: number,
  owners: Set<string>,
): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const url = `${base}/admin/export?limit=${pageSize}${after ? `&after=${encodeURIComponent(after)}` : ''}`;
    const json = await getJson(url, `${base}/admin/export`);
    for (const r of recordsOf(json, `${base}/admin/export`)) if (owners.has(r.ownerId)) ids.push(r.id);
    const next = (json as { nextCursor?: unknown }).nextCursor;
    if (next === null || next === undefined) return ids;
    const c = next as { createdAt?: unknown; id?: unknown };
    if (typeof c.createdAt !== 'string' || typeof c.id !== 'string') {
      throw new Error(`instancesReader: ${base}/admin/export returned a malformed nextCursor ${JSON.stringify(next)}`);
    }
    const cursor = `${c.createdAt}|${c.id}`;
    if (cursor === after) throw new Error(`instancesReader: ${base}/admin/export did not advance past cursor ${cursor}`);
    after = cursor;
  }
}

function recordsOf(json: unknown, what: string): StoredRecord[] {
  const recs = (json as { records?: unknown } | undefined)?.records;
  if (!Array.isArray(recs)) throw new Error(`instancesReader: ${what} returned no "records" array`);
  return recs.map((r: Record<string, unknown>, i) => {
    for (const f of ['id', 'ownerId', 'kind', 'content', 'createdAt', 'updatedAt'] as const) {
      if (typeof r?.[f] !== 'string') throw new Error(`instancesReader: ${what} records[${i}].${f} must be a string`);
    }
    return {
      id: r.id as string,
      ownerId: r.ownerId as string,
      kind: r.kind as string,
      content: r.content as string,
      createdAt: new Date(r.createdAt as string).toISOString(),
      updatedAt: new Date(r.updatedAt as string).toISOString(),
    };
  });
}
