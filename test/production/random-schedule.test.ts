import { afterAll, describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import type { FaultKind } from '../chaos/fault-schedule';
import { killAllWorkers, removeOwnLogDir } from '../chaos/lib';
import { runSeed } from '../chaos/random-run';

// The short version of `npm run test:chaos`'s randomized fault schedule: one seed, the faults
// `npm test` can inject (its Temporal server is not restarted here).
const temporal = useTemporal();
afterAll(async () => {
  await killAllWorkers();
  removeOwnLogDir();
});

const KINDS: FaultKind[] = ['freeze-instance', 'kill-instance', 'start-instance', 'refuse-writes', 'kill-worker'];
const SEED = Number(process.env.CHAOS_SEED ?? 7); // freeze-instance 12 s in monitoring; kill-worker in migrate

describe('a randomized fault schedule (one seed)', () => {
  it(`seed ${SEED}: the run ends in a stated mode and the oracle finds nothing lost in its primary store`, async () => {
    const r = await runSeed(SEED, { client: temporal.client, taskQueue: temporal.taskQueue(`seed-${SEED}`), kinds: KINDS });
    const replay = `replay with CHAOS_SEED=${SEED} (${r.schedule}; injected: ${r.injected.join('; ')}; outcome ${r.outcome})`;
    expect(['completed', 'rolled-back'], replay).toContain(r.outcome);
    expect(r.injected.filter((i) => i.endsWith('not reached')), replay).toEqual([]);
    expect(r.verdict.checked, replay).toBeGreaterThan(1_000);
    expect({ missing: r.verdict.missing, stale: r.verdict.stale, resurrected: r.verdict.resurrected }, `${replay}: ${r.lost.join(' | ')}`).toEqual({ missing: 0, stale: 0, resurrected: 0 });
  }, 300_000);
});
