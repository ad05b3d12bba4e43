import { afterAll, describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import type { FaultKind } from './fault-schedule';
import { killAllWorkers, lostRecords, scenario } from './lib';
import { runSeed } from './random-run';

const temporal = useTemporal();
afterAll(killAllWorkers);

/** Every fault the injector knows; the schedule places each where fault-schedule.ts allows. */
const KINDS: FaultKind[] = ['freeze-instance', 'kill-instance', 'start-instance', 'refuse-writes', 'kill-worker', 'restart-temporal'];
/** CHAOS_SEED=<n> replays one seed; otherwise CHAOS_SEEDS (default 20) seeds from CHAOS_FIRST_SEED (default 1101). */
const FIRST = Number(process.env.CHAOS_FIRST_SEED ?? 1101);
const SEEDS = process.env.CHAOS_SEED ? [Number(process.env.CHAOS_SEED)] : Array.from({ length: Number(process.env.CHAOS_SEEDS ?? 20) }, (_, i) => FIRST + i);
const POSTGRES_ONLY = { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false };

describe('a randomized fault schedule across the production cutover', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: the run ends in a stated mode and the oracle finds nothing lost in its primary store`, async () => {
      await scenario('randomized fault schedule (one seed per run)', async () => {
        const r = await runSeed(seed, { client: temporal.client, taskQueue: temporal.taskQueue(`seed-${seed}`), kinds: KINDS, log: (l) => console.log(l) });
        const replay = `replay with CHAOS_SEED=${seed} (${r.schedule}; injected: ${r.injected.join('; ')}; outcome ${r.outcome})`;
        expect(['completed', 'rolled-back'], replay).toContain(r.outcome);
        if (r.outcome === 'completed') expect(r.finalMode, replay).toEqual(POSTGRES_ONLY);
        expect(r.verdict.checked, replay).toBeGreaterThan(1_000);
        expect({ missing: r.verdict.missing, stale: r.verdict.stale, resurrected: r.verdict.resurrected }, `${replay}: ${r.lost.join(' | ')}`).toEqual({ missing: 0, stale: 0, resurrected: 0 });
        return { dataLost: lostRecords(r.verdict), detail: `seed ${seed}: ${r.injected.join('; ')} → ${r.outcome}${r.rollbacks.length ? ` (${r.rollbacks.join('; ')})` : ''}, judged against ${r.judgedAgainst}` };
      });
    }, 480_000);
  }
});
