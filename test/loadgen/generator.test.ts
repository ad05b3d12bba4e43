import { afterEach, describe, expect, it } from 'vitest';
import { startLoad } from '../../src/loadgen/generator';
import { LoadOptionsError } from '../../src/loadgen/load-options';
import { checkOracle, instancesReader } from '../../src/loadgen/oracle';
import { routeOwner } from '../../src/loadgen/routing';
import { startFakeServer, type FakeServer } from './fake-records-server';

const servers: FakeServer[] = [];
async function fake(): Promise<FakeServer> {
  const s = await startFakeServer();
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('load generator', () => {
  it('paces requests at the requested rate', async () => {
    const s = await fake();
    const handle = startLoad({ instances: [s.url], ratePerSec: 100, durationMs: 2000, seed: 7 });
    await handle.done;
    const stats = handle.stats();
    expect(stats.sent).toBeGreaterThanOrEqual(150);
    expect(stats.sent).toBeLessThanOrEqual(250);
    expect(stats.acked).toBe(stats.sent);
    expect(stats.failed).toBe(0);
    expect(stats.inFlight).toBe(0);
    // The mix produced all three operation types, each acknowledged with its contract status.
    expect(stats.ackedByOp.create).toBeGreaterThan(0);
    expect(stats.ackedByOp.update).toBeGreaterThan(0);
    expect(stats.ackedByOp.delete).toBeGreaterThan(0);
    expect(stats.byStatus).toEqual({ '201': stats.ackedByOp.create, '200': stats.ackedByOp.update, '204': stats.ackedByOp.delete });
    expect(stats.maxStallMs).toBeGreaterThanOrEqual(stats.p99Ms);
  });

  it('keeps every owner on one instance, the one routeOwner names', async () => {
    const a = await fake();
    const b = await fake();
    const handle = startLoad({ instances: [a.url, b.url], ratePerSec: 300, durationMs: 1000, owners: 16, seed: 3 });
    await handle.done;
    for (const owner of handle.ownerIds) {
      const expected = routeOwner(owner, [a.url, b.url]) === a.url ? a : b;
      const other = expected === a ? b : a;
      expect(other.ownersSeen.has(owner), `${owner} must never reach the other instance`).toBe(false);
    }
    // Both instances got owners (16 owners over 2 instances), so the split is real.
    expect(a.ownersSeen.size).toBeGreaterThan(0);
    expect(b.ownersSeen.size).toBeGreaterThan(0);
    expect(a.ownersSeen.size + b.ownersSeen.size).toBe(16);
    for (const r of handle.log.records()) expect(r.instance).toBe(routeOwner(r.ownerId, [a.url, b.url]));
  });

  it('never has two requests in flight for the same record', async () => {
    const s = await fake();
    s.delayMs = (n) => (n * 7919) % 40; // scattered latencies so responses complete out of order
    const handle = startLoad({ instances: [s.url], ratePerSec: 400, durationMs: 1500, owners: 2, concurrency: 32, seed: 11 });
    await handle.done;
    expect(handle.stats().ackedByOp.update).toBeGreaterThan(20);
    expect(s.overlaps).toEqual([]);
  });

  it('does not acknowledge failed requests, and the oracle still finds nothing lost', async () => {
    const s = await fake();
    // Every 5th write is refused with 503 (not applied), every 7th is applied and then answered
    // with 500 (as dual-write fail-fast does after the primary succeeded), every 23rd hangs.
    s.fault = ({ n }) =>
      n % 23 === 22 ? { kind: 'hang' } : n % 5 === 4 ? { kind: 'refuse', status: 503 } : n % 7 === 6 ? { kind: 'apply-then-fail', status: 500 } : null;
    const handle = startLoad({ instances: [s.url], ratePerSec: 200, durationMs: 1500, owners: 4, seed: 5, timeoutMs: 300 });
    await handle.done;
    const stats = handle.stats();
    expect(stats.byStatus['503']).toBeGreaterThan(0);
    expect(stats.byStatus['500']).toBeGreaterThan(0);
    expect(stats.byStatus.timeout).toBeGreaterThan(0);
    expect(stats.failed).toBe(stats.byStatus['503'] + stats.byStatus['500'] + stats.byStatus.timeout);
    expect(stats.acked + stats.failed).toBe(stats.sent);
    expect(stats.maxStallMs).toBeGreaterThanOrEqual(300);

    // Nothing the fake refused is in the log as acknowledged.
    const log = handle.log;
    expect(log.acked.create + log.acked.update + log.acked.delete).toBe(stats.acked);
    for (const r of log.records()) {
      const stored = s.records.get(r.id);
      if (!r.deleted && !r.unacknowledged) {
        expect(stored?.updatedAt, `record ${r.id}`).toBe(r.updatedAt);
      }
    }

    const reader = instancesReader([s.url], s.adminToken);
    const verdict = await checkOracle(log, reader);
    await reader.close();
    expect(verdict).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
    expect(verdict.uncertain).toBeGreaterThan(0); // the apply-then-fail and hung writes
    expect(verdict.checked).toBe(log.size + [...log.unacknowledgedCreates()].length);
  });

  it('spreads createdAt over past months when asked', async () => {
    const s = await fake();
    const handle = startLoad({ instances: [s.url], ratePerSec: 200, durationMs: 500, createdAtSpreadMonths: 4, mix: { create: 1, update: 0, delete: 0 } });
    await handle.done;
    const months = new Set([...handle.log.records()].map((r) => r.createdAt.slice(0, 7)));
    expect(months.size).toBeGreaterThan(1);
    const now = Date.now();
    for (const r of handle.log.records()) expect(Date.parse(r.createdAt)).toBeLessThanOrEqual(now);
  });

  it('stop() ends an open-ended run and waits for requests in flight', async () => {
    const s = await fake();
    s.delayMs = () => 50;
    const handle = startLoad({ instances: [s.url], ratePerSec: 100 });
    await new Promise((r) => setTimeout(r, 300));
    const log = await handle.stop();
    const stats = handle.stats();
    expect(stats.inFlight).toBe(0);
    expect(stats.sent).toBeGreaterThan(0);
    expect(stats.acked).toBe(stats.sent);
    expect(log).toBe(handle.log);
  });

  it('never has more requests in flight than the concurrency allows', async () => {
    const s = await fake();
    s.delayMs = () => 250;
    const handle = startLoad({ instances: [s.url], ratePerSec: 100, concurrency: 4 });
    const t = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    await handle.stop();
    const elapsed = performance.now() - t;
    const stats = handle.stats();
    expect(s.maxConcurrent).toBe(4);
    // 4 slots of ≥ 250 ms each: at most 4 per 250 ms (plus the last round), far below the rate.
    expect(stats.sent).toBeLessThanOrEqual(4 * (Math.ceil(elapsed / 250) + 1));
    expect(stats.acked).toBe(stats.sent);
  });

  it('rejects bad options naming the field', () => {
    expect(() => startLoad({ instances: [], ratePerSec: 10 })).toThrow(/"instances"/);
    expect(() => startLoad({ instances: ['ftp://x'], ratePerSec: 10 })).toThrow(/"instances\[0\]".*protocol/);
    expect(() => startLoad({ instances: ['http://127.0.0.1:1'], ratePerSec: 0 })).toThrow(LoadOptionsError);
    expect(() => startLoad({ instances: ['http://127.0.0.1:1'], ratePerSec: 5, mix: { create: -1, update: 1, delete: 1 } })).toThrow(/"mix.create"/);
    expect(() => startLoad({ instances: ['http://127.0.0.1:1'], ratePerSec: 5, owners: 1.5 })).toThrow(/"owners"/);
  });
});
