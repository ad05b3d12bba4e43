import crypto from 'node:crypto';
import { createHttpClient } from './http-client';
import { normaliseInstances } from './load-options';
import { OpLog } from './oplog';
import { createRecord, type OpOutcome } from './operations';
import { checkOracle, formatVerdict, verdictPasses } from './oracle';
import { instancesReader } from './instances-reader';
import { makeContent, pickKind } from './payload';
import { Prng } from './prng';
import { routeOwner } from './routing';
import { instantInMonth } from './time';

/**
 * Seeds instances with "Phase 2" data: `count` records spread over the `months` most recent
 * calendar months (UTC; month 0 is the current one, never in the future), created through the
 * records API with a client-supplied createdAt, owners routed stickily as the generator does.
 * Records are dealt round-robin over the months so every month gets data (and so needs a
 * partition later).
 *
 * Every create must be acknowledged, or this throws: a seed quietly short of records would make
 * every later count and checksum comparison meaningless. With `adminToken`, the seeded records
 * are then read back from the instances' memory stores and judged by the oracle.
 */
export interface SeedOptions {
  count: number;
  months: number;
  owners: number;
  adminToken?: string;
  /** Requests in flight (default 32). */
  concurrency?: number;
  /** PRNG seed for payloads and timestamps (default 1). */
  seed?: number;
  /** Owner ids are `<ownerPrefix>-<n>` (default a random `seed-xxxxxxxx`). */
  ownerPrefix?: string;
  timeoutMs?: number;
}

export class SeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeedError';
  }
}

export async function seedRecords(instances: string[], opts: SeedOptions): Promise<OpLog> {
  const urls = normaliseInstances('instances', instances);
  const int = (field: keyof SeedOptions, v: unknown, min: number) => {
    if (!Number.isInteger(v) || (v as number) < min) throw new SeedError(`seed option "${field}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const count = int('count', opts.count, 0);
  const months = int('months', opts.months, 1);
  const owners = int('owners', opts.owners, 1);
  const concurrency = int('concurrency', opts.concurrency ?? 32, 1);
  const prng = new Prng(int('seed', opts.seed ?? 1, 0));
  const prefix = opts.ownerPrefix ?? `seed-${crypto.randomUUID().slice(0, 8)}`;

  const ownerIds = Array.from({ length: owners }, (_, i) => `${prefix}-${i}`);
  const log = new OpLog();
  for (const o of ownerIds) log.noteOwner(o);
  const client = createHttpClient({ timeoutMs: opts.timeoutMs ?? 30_000, maxSockets: concurrency });
  const now = new Date();
  // Draw every input up front so the PRNG sequence does not depend on response order.
  const inputs = Array.from({ length: count }, (_, i) => {
    const ownerId = ownerIds[prng.int(owners)];
    return {
      instance: routeOwner(ownerId, urls),
      input: {
        id: crypto.randomUUID(),
        ownerId,
        kind: pickKind(prng),
        content: makeContent(prng, `seed:${i}`),
        metadata: { seeded: true },
        createdAt: instantInMonth(prng, now, i % months).toISOString(),
      },
    };
  });

  const failures: OpOutcome[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < inputs.length) {
          const { instance, input } = inputs[next++];
          const r = await createRecord(client, log, instance, input);
          if (!r.acknowledged) failures.push(r);
        }
      }),
    );
  } finally {
    client.close();
  }
  if (failures.length > 0) {
    const first = failures[0];
    throw new SeedError(
      `seeding failed: ${failures.length} of ${count} creates were not acknowledged ` +
        `(first: ${first.instance} status ${first.status}: ${first.error ?? 'no detail'})`,
    );
  }

  if (opts.adminToken) {
    const reader = instancesReader(urls, opts.adminToken);
    try {
      const verdict = await checkOracle(log, reader);
      if (!verdictPasses(verdict)) throw new SeedError(`seeded records do not read back from the instances: ${formatVerdict(verdict)}`);
    } finally {
      await reader.close();
    }
  }
  return log;
}
