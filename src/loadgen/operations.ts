import type { JsonHttpClient } from './http-client';
import { HttpTransportError } from './http-client';
import { OpLogError, type AcknowledgedRecord, type OpLog, type OpType } from './oplog';

/**
 * One records-API operation (see the API contract), its acknowledgement checked and applied to
 * the op log. Only a response with the contract's success status AND a body that confirms what
 * was written is an acknowledgement; everything else is a failure, classified by whether the
 * service may nevertheless have applied it.
 */
export interface OpOutcome {
  op: OpType;
  id: string;
  instance: string;
  acknowledged: boolean;
  /** HTTP status as a string ("201", "503"), or "network" / "timeout"; "<status>-invalid" for a success status whose body does not confirm the write. */
  status: string;
  ms: number;
  error?: string;
}

export interface CreateInput {
  id: string;
  ownerId: string;
  kind: string;
  content: string;
  agentId?: string;
  metadata?: Record<string, unknown>;
  /** ISO-8601; omitted → the server chooses (now). */
  createdAt?: string;
}

export async function createRecord(client: JsonHttpClient, log: OpLog, instance: string, input: CreateInput): Promise<OpOutcome> {
  const res = await send(client, 'POST', `${instance}/records`, input);
  const base = { op: 'create' as const, id: input.id, instance };
  const fail = (status: string, applied: 'maybe' | 'no', error: string): OpOutcome => {
    log.failCreate(
      { id: input.id, ownerId: input.ownerId, instance, content: input.content, kind: input.kind, createdAt: input.createdAt ?? null, status },
      applied,
    );
    return { ...base, acknowledged: false, status, ms: res.ms, error };
  };
  if ('transport' in res) return fail(res.transport.kind, 'maybe', res.transport.message);
  if (res.status !== 201) return fail(String(res.status), res.status >= 400 && res.status < 500 ? 'no' : 'maybe', describe(res));
  try {
    const rec = confirm(res.json, { id: input.id, ownerId: input.ownerId, content: input.content, kind: input.kind, createdAt: input.createdAt });
    log.ackCreate(rec, instance);
    return { ...base, acknowledged: true, status: '201', ms: res.ms };
  } catch (err) {
    if (err instanceof OpLogError) return fail('201-invalid', 'maybe', err.message);
    throw err;
  }
}

export async function updateRecord(
  client: JsonHttpClient,
  log: OpLog,
  instance: string,
  id: string,
  change: { content: string; kind: string },
): Promise<OpOutcome> {
  const res = await send(client, 'PUT', `${instance}/records/${id}`, change);
  const base = { op: 'update' as const, id, instance };
  const fail = (status: string, applied: 'maybe' | 'no', error: string): OpOutcome => {
    log.failUpdate(id, change, status, applied);
    return { ...base, acknowledged: false, status, ms: res.ms, error };
  };
  if ('transport' in res) return fail(res.transport.kind, 'maybe', res.transport.message);
  if (res.status !== 200) return fail(String(res.status), res.status >= 400 && res.status < 500 ? 'no' : 'maybe', describe(res));
  try {
    const ownerId = log.get(id)?.ownerId;
    const rec = confirm(res.json, { id, ownerId, content: change.content, kind: change.kind });
    log.ackUpdate(rec, instance);
    return { ...base, acknowledged: true, status: '200', ms: res.ms };
  } catch (err) {
    if (err instanceof OpLogError) return fail('200-invalid', 'maybe', err.message);
    throw err;
  }
}

export async function deleteRecord(client: JsonHttpClient, log: OpLog, instance: string, id: string): Promise<OpOutcome> {
  const res = await send(client, 'DELETE', `${instance}/records/${id}`);
  const base = { op: 'delete' as const, id, instance };
  const fail = (status: string, applied: 'maybe' | 'no', error: string): OpOutcome => {
    log.failDelete(id, status, applied);
    return { ...base, acknowledged: false, status, ms: res.ms, error };
  };
  if ('transport' in res) return fail(res.transport.kind, 'maybe', res.transport.message);
  if (res.status !== 204) {
    const applied = res.status >= 400 && res.status < 500 ? 'no' : 'maybe';
    return fail(res.status >= 200 && res.status < 300 ? `${res.status}-invalid` : String(res.status), applied, describe(res));
  }
  try {
    log.ackDelete(id, instance);
  } catch (err) {
    if (err instanceof OpLogError) return fail('204-invalid', 'maybe', err.message);
    throw err;
  }
  return { ...base, acknowledged: true, status: '204', ms: res.ms };
}

type SendResult = { status: number; json: unknown; text: string; ms: number } | { transport: HttpTransportError; ms: number };

async function send(client: JsonHttpClient, method: string, url: string, body?: unknown): Promise<SendResult> {
  try {
    return await client.request(method, url, body);
  } catch (err) {
    if (err instanceof HttpTransportError) return { transport: err, ms: err.ms };
    throw err;
  }
}

function describe(res: { status: number; json: unknown; text: string }): string {
  const j = res.json as { error?: unknown } | undefined;
  const msg = typeof j?.error === 'string' ? j.error : res.text.slice(0, 200);
  return `HTTP ${res.status}${msg ? `: ${msg}` : ''}`;
}

/**
 * Checks that a success body is the record just written: same id, owner, content and kind
 * (and createdAt when the client chose it), with valid timestamps. A body that disagrees is
 * not an acknowledgement of this write.
 */
export function confirm(
  json: unknown,
  expect: { id: string; ownerId?: string; content: string; kind: string; createdAt?: string },
): AcknowledgedRecord {
  const r = json as Partial<Record<keyof AcknowledgedRecord, unknown>> | undefined;
  if (!r || typeof r !== 'object') throw new OpLogError(`response for ${expect.id} has no JSON record body`);
  for (const f of ['id', 'ownerId', 'createdAt', 'updatedAt', 'content', 'kind'] as const) {
    if (typeof r[f] !== 'string') throw new OpLogError(`response for ${expect.id}: field "${f}" must be a string, got ${JSON.stringify(r[f])}`);
  }
  const rec = r as AcknowledgedRecord;
  const mismatch = (f: string, got: string, want: string) =>
    new OpLogError(`response for ${expect.id}: field "${f}" is ${JSON.stringify(got)}, the request wrote ${JSON.stringify(want)}`);
  if (rec.id !== expect.id) throw mismatch('id', rec.id, expect.id);
  if (expect.ownerId !== undefined && rec.ownerId !== expect.ownerId) throw mismatch('ownerId', rec.ownerId, expect.ownerId);
  if (rec.content !== expect.content) throw mismatch('content', rec.content, expect.content);
  if (rec.kind !== expect.kind) throw mismatch('kind', rec.kind, expect.kind);
  for (const f of ['createdAt', 'updatedAt'] as const) {
    if (Number.isNaN(Date.parse(rec[f]))) throw new OpLogError(`response for ${expect.id}: field "${f}" is not an ISO-8601 timestamp: ${rec[f]}`);
  }
  if (expect.createdAt !== undefined && Date.parse(rec.createdAt) !== Date.parse(expect.createdAt)) {
    throw mismatch('createdAt', rec.createdAt, expect.createdAt);
  }
  return rec;
}
