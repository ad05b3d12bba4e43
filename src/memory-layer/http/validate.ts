import type { RecordCursor } from '../record';
import type { NewRecordInput, RecordPatch } from '../storage/dual-store';
import { unstorableJson, unstorableText } from '../storable';

export { MAX_JSON_DEPTH } from '../storable';

/** Bad input: HTTP 400 `{error, field}`. */
export class BadInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'BadInputError';
  }
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;
const MAX_TEXT = 1_000_000;
/** The documented createdAt range: from this instant to one year after the server's clock. */
export const CREATED_AT_MIN = new Date('2000-01-01T00:00:00.000Z');
const YEAR_MS = 366 * 24 * 3600 * 1000;

type Body = Record<string, unknown>;

function objectBody(body: unknown): Body {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadInputError('body', 'the request body must be a JSON object');
  return body as Body;
}

function onlyFields(body: Body, allowed: readonly string[]): void {
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw new BadInputError(k, `unknown field ${JSON.stringify(k)}; allowed: ${allowed.join(', ')}`);
  }
}

function str(body: Body, field: string, opts: { required?: boolean; nonEmpty?: boolean; max?: number } = {}): string | undefined {
  const v = body[field];
  if (v === undefined) {
    if (opts.required) throw new BadInputError(field, `${field} is required (a string)`);
    return undefined;
  }
  if (typeof v !== 'string') throw new BadInputError(field, `${field} must be a string, got ${typeOf(v)}`);
  if (opts.nonEmpty && v.length === 0) throw new BadInputError(field, `${field} must not be empty`);
  if (v.length > (opts.max ?? MAX_TEXT)) throw new BadInputError(field, `${field} is longer than ${opts.max ?? MAX_TEXT} characters`);
  storableText(v, field);
  return v;
}

/**
 * Refuses a string Postgres cannot hold in text or jsonb: a NUL character (U+0000: text
 * cannot contain it, jsonb refuses `\u0000`) or a lone UTF-16 surrogate (not valid UTF-8).
 * Every mode refuses them, so a record accepted in memory can always be carried to Postgres.
 */
export function storableText(v: string, field: string): void {
  const why = unstorableText(v, field);
  if (why) throw new BadInputError(field, why);
}

/** Walks a JSON value: every key and string storable, nesting at most MAX_JSON_DEPTH. */
function storableJson(v: unknown, path: string, depth: number): void {
  const bad = unstorableJson(v, path, depth);
  if (bad) throw new BadInputError(bad.field, bad.reason);
}

function nullableStr(body: Body, field: string): string | null | undefined {
  if (body[field] === null) return null;
  return str(body, field, { max: 200 });
}

function metadata(body: Body): Record<string, unknown> | undefined {
  const v = body.metadata;
  if (v === undefined) return undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new BadInputError('metadata', `metadata must be a JSON object, got ${typeOf(v)}`);
  storableJson(v, 'metadata', 1);
  return v as Record<string, unknown>;
}

export function parseUuid(v: unknown, field: string): string {
  if (typeof v !== 'string' || !UUID_RE.test(v)) throw new BadInputError(field, `${field} must be a uuid`);
  return v.toLowerCase();
}

export function parseIso(v: unknown, field: string): Date {
  if (typeof v !== 'string' || !ISO_RE.test(v) || Number.isNaN(Date.parse(v)) || !realCalendarDay(v)) {
    throw new BadInputError(field, `${field} must be an ISO-8601 timestamp with a time zone, e.g. 2025-01-31T12:00:00.000Z`);
  }
  return new Date(Date.parse(v));
}

/** Date.parse rolls 2024-02-30 over to 1 March: the day must exist in its month. */
function realCalendarDay(v: string): boolean {
  const [y, m, d] = v.slice(0, 10).split('-').map(Number);
  const day = new Date(Date.UTC(2000, m - 1, d));
  day.setUTCFullYear(y);
  return day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

const CREATE_FIELDS = ['id', 'ownerId', 'agentId', 'kind', 'content', 'metadata', 'createdAt'] as const;

/** POST /records. `newId` supplies an id when the client did not. */
export function parseCreate(raw: unknown, newId: () => string, now: () => number = Date.now): NewRecordInput {
  const body = objectBody(raw);
  onlyFields(body, CREATE_FIELDS);
  return {
    id: body.id === undefined ? newId() : parseUuid(body.id, 'id'),
    ownerId: str(body, 'ownerId', { required: true, nonEmpty: true, max: 200 })!,
    agentId: nullableStr(body, 'agentId') ?? null,
    kind: str(body, 'kind', { nonEmpty: true, max: 100 }) ?? 'note',
    content: str(body, 'content', { required: true })!,
    metadata: metadata(body) ?? {},
    createdAt: body.createdAt === undefined ? undefined : parseCreatedAt(body.createdAt, now()),
  };
}

/** createdAt in [CREATED_AT_MIN, now + 1 year]: each month is a partition, so the range is bounded. */
export function parseCreatedAt(v: unknown, nowMs: number): Date {
  const d = parseIso(v, 'createdAt');
  const max = new Date(nowMs + YEAR_MS);
  if (d.getTime() < CREATED_AT_MIN.getTime() || d.getTime() > max.getTime()) {
    throw new BadInputError('createdAt', `createdAt must be from ${CREATED_AT_MIN.toISOString()} to one year from now (${max.toISOString()})`);
  }
  return d;
}

const UPDATE_FIELDS = ['content', 'metadata', 'kind', 'agentId'] as const;

/** PUT /records/:id: any of content, metadata, kind, agentId (at least one). */
export function parseUpdate(raw: unknown): RecordPatch {
  const body = objectBody(raw);
  onlyFields(body, UPDATE_FIELDS);
  if (Object.keys(body).length === 0) throw new BadInputError('body', `the body must set at least one of: ${UPDATE_FIELDS.join(', ')}`);
  const patch: RecordPatch = {};
  if (body.content !== undefined) patch.content = str(body, 'content');
  if (body.metadata !== undefined) patch.metadata = metadata(body);
  if (body.kind !== undefined) patch.kind = str(body, 'kind', { nonEmpty: true, max: 100 });
  if (body.agentId !== undefined) patch.agentId = nullableStr(body, 'agentId');
  return patch;
}

/** Query strings: rejects parameters outside `allowed` and repeated ones. */
export function parseQuery(params: URLSearchParams, allowed: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const k of new Set(params.keys())) {
    if (!allowed.includes(k)) throw new BadInputError(k, `unknown query parameter ${JSON.stringify(k)}; allowed: ${allowed.join(', ') || 'none'}`);
    const all = params.getAll(k);
    if (all.length > 1) throw new BadInputError(k, `query parameter ${k} is given more than once`);
    storableText(all[0], k);
    out[k] = all[0];
  }
  return out;
}

export function parseLimit(v: string | undefined, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new BadInputError('limit', `limit must be an integer from 1 to ${max}`);
  return Number(v);
}

/** `after=<createdAtISO>|<id>` */
export function parseCursor(v: string | undefined): RecordCursor | null {
  if (v === undefined) return null;
  const bar = v.lastIndexOf('|');
  if (bar < 0) throw new BadInputError('after', 'after must be <createdAt ISO-8601>|<id uuid>, as in nextCursor');
  const createdAt = parseIso(v.slice(0, bar), 'after');
  return { createdAt: createdAt.toISOString(), id: parseUuid(v.slice(bar + 1), 'after') };
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}
