import crypto from 'node:crypto';
import { createHttpClient } from './http-client';
import { IndexedSet } from './indexed-set';
import { LatencyRecorder } from './latency';
import { TokenBucket } from './pacer';
import { resolveLoadOptions, type LoadOptions } from './load-options';
import { OpLog, type OpCounts } from './oplog';
import { createRecord, deleteRecord, updateRecord, type OpOutcome } from './operations';
import { makeContent, pickKind } from './payload';
import { Prng } from './prng';
import { routeOwner } from './routing';
import { instantInPastMonths } from './time';

export type { LoadOptions } from './load-options';

/**
 * The load generator: creates, updates and deletes at a paced rate against one or more
 * memory-layer instances, logging every acknowledged operation (the oracle's ground truth).
 *
 * - Sticky routing: an owner always goes to the same instance (`routeOwner`).
 * - The client chooses record ids (crypto.randomUUID), so even an unanswered create is known.
 * - Updates and deletes target records this generator created and saw acknowledged; a record
 *   is never in two requests at once (it leaves the idle pool while in flight), and a record
 *   whose last operation got no answer is retired, so its true state is one of two.
 * - Pacing is a token bucket refilled at `ratePerSec` with one second of burst, so a stalled
 *   service gets at most one second of catch-up when it recovers; concurrency is bounded.
 * - Failures (5xx, network errors, timeouts, bodies that do not confirm the write) are counted
 *   by status and never acknowledged; the generator keeps going.
 */
export interface LoadStats {
  sent: number;
  acked: number;
  failed: number;
  inFlight: number;
  /** Completed requests by status: "201", "200", "204", "503", "network", "timeout", "201-invalid"… */
  byStatus: Record<string, number>;
  ackedByOp: OpCounts;
  failedByOp: OpCounts;
  /** Requests started per second over the run so far. */
  ratePerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** The longest any single request took. */
  maxStallMs: number;
  elapsedMs: number;
  lastError?: string;
}

export interface LoadHandle {
  /** The live op log (complete once `stop()`/`done` resolves). */
  readonly log: OpLog;
  readonly ownerIds: readonly string[];
  stats(): LoadStats;
  /** Stops issuing, waits for requests in flight, returns the log. Idempotent. */
  stop(): Promise<OpLog>;
  /** Resolves when the run ends (duration elapsed or `stop()`), after in-flight requests finish. */
  readonly done: Promise<OpLog>;
}

export function startLoad(options: LoadOptions): LoadHandle {
  const o = resolveLoadOptions(options);
  const prng = new Prng(o.seed);
  const client = createHttpClient({ timeoutMs: o.timeoutMs, maxSockets: o.concurrency });
  const log = new OpLog();
  const latency = new LatencyRecorder();

  const ownerIds = Array.from({ length: o.owners }, (_, i) => `${o.ownerPrefix}-${i}`);
  const instanceOf = new Map(ownerIds.map((id) => [id, routeOwner(id, o.instances)]));
  /** Per owner: acknowledged, live records with no request in flight. */
  const idle = new Map(ownerIds.map((id) => [id, new IndexedSet<string>()]));
  for (const id of ownerIds) log.noteOwner(id);

  const byStatus: Record<string, number> = {};
  let sent = 0;
  let inFlight = 0;
  let seq = 0;
  let lastError: string | undefined;
  let stopping = false;
  const t0 = performance.now();
  let tEnd: number | undefined;

  // Wakes the pacing loop early: on stop() and whenever a request completes (a free slot).
  let wake: () => void = () => undefined;
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  let drained: () => void = () => undefined;

  const issue = (): Promise<OpOutcome> => {
    const ownerId = ownerIds[prng.int(ownerIds.length)];
    const instance = instanceOf.get(ownerId)!;
    const pool = idle.get(ownerId)!;
    let op = prng.weighted(o.mix);
    // An owner with nothing idle to update or delete creates instead.
    if (op !== 'create' && pool.size === 0) op = 'create';
    const tag = `${o.seed}:${seq++}`;
    if (op === 'create') {
      return createRecord(client, log, instance, {
        id: crypto.randomUUID(),
        ownerId,
        kind: pickKind(prng),
        content: makeContent(prng, tag),
        metadata: { loadgen: true, seq: tag },
        ...(o.createdAtSpreadMonths > 0 ? { createdAt: instantInPastMonths(prng, new Date(), o.createdAtSpreadMonths).toISOString() } : {}),
      }).then((r) => {
        if (r.acknowledged) pool.add(r.id);
        return r;
      });
    }
    const id = pool.at(prng.int(pool.size));
    pool.delete(id); // not idle while in flight: one request per record at a time
    if (op === 'update') {
      return updateRecord(client, log, instance, id, { content: makeContent(prng, tag), kind: pickKind(prng) }).then((r) => {
        if (r.acknowledged) pool.add(id); // unanswered → retired: its state is now one of two
        return r;
      });
    }
    return deleteRecord(client, log, instance, id);
  };

  const launch = () => {
    sent++;
    inFlight++;
    issue()
      .then((r) => {
        byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
        latency.add(r.ms);
        if (r.error) lastError = `${r.op} ${r.id} via ${r.instance}: ${r.error}`;
      })
      .catch((err: unknown) => {
        // A bug in the client itself, not a service failure: count it loudly, keep going.
        byStatus['client-error'] = (byStatus['client-error'] ?? 0) + 1;
        lastError = `client error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`;
      })
      .finally(() => {
        inFlight--;
        wake();
        if (inFlight === 0) drained();
      });
  };

  const run = async (): Promise<OpLog> => {
    const deadline = o.durationMs === undefined ? Infinity : t0 + o.durationMs;
    const bucket = new TokenBucket(o.ratePerSec, Math.max(1, o.ratePerSec), t0);
    while (!stopping) {
      const now = performance.now();
      if (now >= deadline) break;
      // Naps are capped so setTimeout's argument stays finite; completions and stop() wake early.
      const untilDeadline = Math.min(1000, Math.max(1, deadline - now));
      if (inFlight >= o.concurrency) await nap(untilDeadline);
      else if (bucket.tryTake(now)) launch();
      else await nap(Math.min(Math.max(1, bucket.msUntilNext(now)), untilDeadline));
    }
    tEnd = performance.now();
    if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
    client.close();
    return log;
  };

  const done = run();

  return {
    log,
    ownerIds,
    done,
    stop() {
      stopping = true;
      wake();
      return done;
    },
    stats() {
      const elapsedMs = (tEnd ?? performance.now()) - t0;
      const acked = log.acked.create + log.acked.update + log.acked.delete;
      const failed = log.failed.create + log.failed.update + log.failed.delete + (byStatus['client-error'] ?? 0);
      return {
        sent,
        acked,
        failed,
        inFlight,
        byStatus: { ...byStatus },
        ackedByOp: { ...log.acked },
        failedByOp: { ...log.failed },
        ratePerSec: elapsedMs > 0 ? (sent * 1000) / elapsedMs : 0,
        p50Ms: latency.percentile(50),
        p99Ms: latency.percentile(99),
        maxStallMs: latency.max,
        elapsedMs,
        ...(lastError ? { lastError } : {}),
      };
    },
  };
}
