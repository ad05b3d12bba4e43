import crypto from 'node:crypto';
import type { OpType } from './oplog';

export type OpMix = Record<OpType, number>;

export interface LoadOptions {
  /** Base URLs of the memory-layer instances, e.g. http://127.0.0.1:8080. */
  instances: string[];
  /** Operations started per second (token bucket, at most one second of catch-up after a stall). */
  ratePerSec: number;
  /** Stop by itself after this long; omitted → run until `stop()`. */
  durationMs?: number;
  /** Number of distinct owners (default 20). */
  owners?: number;
  /** Relative weights of the operation types (default create 4, update 4, delete 2). */
  mix?: OpMix;
  /** PRNG seed for every choice (default 1). Record ids are random uuids regardless. */
  seed?: number;
  /** When > 0, creates supply a createdAt spread uniformly over this many past months. */
  createdAtSpreadMonths?: number;
  /** Maximum requests in flight (default 64). */
  concurrency?: number;
  /** Whole-request timeout, ms (default 10 000): a timed-out request counts as failed. */
  timeoutMs?: number;
  /** Owner ids are `<ownerPrefix>-<n>`; default a random `lg-xxxxxxxx` so runs never share owners. */
  ownerPrefix?: string;
}

export interface ResolvedLoadOptions {
  instances: string[];
  ratePerSec: number;
  durationMs: number | undefined;
  owners: number;
  mix: OpMix;
  seed: number;
  createdAtSpreadMonths: number;
  concurrency: number;
  timeoutMs: number;
  ownerPrefix: string;
}

export class LoadOptionsError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`load option "${field}": ${message}`);
    this.name = 'LoadOptionsError';
  }
}

export const DEFAULT_MIX: OpMix = { create: 4, update: 4, delete: 2 };

/** Normalises instance base URLs (http/https, no trailing slash); throws naming the bad one. */
export function normaliseInstances(field: string, urls: unknown): string[] {
  if (!Array.isArray(urls) || urls.length === 0) throw new LoadOptionsError(field, 'must be a non-empty array of http(s) base URLs');
  return urls.map((u, i) => {
    let parsed: URL;
    try {
      parsed = new URL(String(u));
    } catch {
      throw new LoadOptionsError(`${field}[${i}]`, `${JSON.stringify(u)} is not a URL (expected e.g. http://127.0.0.1:8080)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new LoadOptionsError(`${field}[${i}]`, `protocol must be http: or https:, got ${parsed.protocol}`);
    }
    if (parsed.search || parsed.hash) throw new LoadOptionsError(`${field}[${i}]`, 'must be a base URL without query or fragment');
    return parsed.toString().replace(/\/+$/, '');
  });
}

function positive(field: string, v: unknown, integer: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new LoadOptionsError(field, `must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function resolveLoadOptions(o: LoadOptions): ResolvedLoadOptions {
  const instances = normaliseInstances('instances', o.instances);
  if (new Set(instances).size !== instances.length) throw new LoadOptionsError('instances', 'lists the same instance twice');
  const mix = o.mix ?? DEFAULT_MIX;
  for (const k of ['create', 'update', 'delete'] as const) {
    const w = mix[k];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) throw new LoadOptionsError(`mix.${k}`, `must be a non-negative number, got ${JSON.stringify(w)}`);
  }
  const unknownMix = Object.keys(mix).filter((k) => !['create', 'update', 'delete'].includes(k));
  if (unknownMix.length) throw new LoadOptionsError('mix', `unknown operation type(s) ${unknownMix.join(', ')}; allowed: create, update, delete`);
  if (mix.create + mix.update + mix.delete <= 0) throw new LoadOptionsError('mix', 'at least one weight must be > 0');
  const seed = o.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new LoadOptionsError('seed', `must be an integer, got ${JSON.stringify(seed)}`);
  const spread = o.createdAtSpreadMonths ?? 0;
  if (!Number.isInteger(spread) || spread < 0 || spread > 600) throw new LoadOptionsError('createdAtSpreadMonths', `must be an integer in [0, 600], got ${JSON.stringify(spread)}`);
  const ownerPrefix = o.ownerPrefix ?? `lg-${crypto.randomUUID().slice(0, 8)}`;
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(ownerPrefix)) throw new LoadOptionsError('ownerPrefix', 'must be 1–64 characters of A–Z a–z 0–9 _ . : -');
  return {
    instances,
    ratePerSec: positive('ratePerSec', o.ratePerSec, false),
    durationMs: o.durationMs === undefined ? undefined : positive('durationMs', o.durationMs, false),
    owners: o.owners === undefined ? 20 : positive('owners', o.owners, true),
    mix: { create: mix.create, update: mix.update, delete: mix.delete },
    seed,
    createdAtSpreadMonths: spread,
    concurrency: o.concurrency === undefined ? 64 : positive('concurrency', o.concurrency, true),
    timeoutMs: o.timeoutMs === undefined ? 10_000 : positive('timeoutMs', o.timeoutMs, false),
    ownerPrefix,
  };
}
