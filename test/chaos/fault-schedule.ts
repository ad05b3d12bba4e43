/**
 * A seeded fault schedule for one production cutover: which faults, in which phases, with
 * which lengths. The same seed always gives the same schedule (mulberry32), so a failing seed
 * replays with CHAOS_SEED=<seed>.
 */
export type FaultKind = 'freeze-instance' | 'kill-instance' | 'start-instance' | 'refuse-writes' | 'kill-worker' | 'restart-temporal';

export interface PlannedFault {
  kind: FaultKind;
  /** The workflow phase (status.phase) in which it is injected, the first time the run is there. */
  phase: string;
  /** Freeze and refusal length, seconds. */
  seconds?: number;
}

/**
 * Where each fault may land in the protocol as it stands. The limits are the ones the run keeps
 * its promise under today; each is a statement about the orchestrator, not about the test:
 *  - freeze-instance (SIGSTOP past the TTL, then SIGCONT): any phase from preflight on. Frozen
 *    across preflight, the instance is not read there; the run back-fills it when it answers
 *    again, before the switch of the primary (workflows/production/membership.ts). Still frozen
 *    at the final cutover, the run waits for an operator: the driver retries once it is thawed.
 *  - start-instance: once dual-write is on (it boots into the control row's mode); never in a
 *    run that also refuses writes (a newcomer's failed dual-writes are not repaired yet).
 *  - refuse-writes: Postgres refuses the app's writes to this month's partition while memory is
 *    primary (verify) or after the switch (monitoring).
 *  - kill-worker, restart-temporal: any phase.
 *  - kill-instance: not scheduled: a killed instance stays in the fleet (it never stopped
 *    cleanly), so the final cutover waits for an operator to forget it, and the records only
 *    its memory held are lost by definition; the oracle would have to exclude them. The
 *    injector supports it; test/production/membership-forget.test.ts covers the operator path.
 */
export const FAULT_PHASES: Record<FaultKind, string[]> = {
  'freeze-instance': ['preflight', 'backfill', 'verify', 'switch primary to postgres', 'monitoring'],
  'kill-instance': [],
  'start-instance': ['verify', 'switch primary to postgres', 'monitoring'],
  'refuse-writes': ['verify', 'monitoring'],
  'kill-worker': ['backfill', 'verify', 'migrate', 'switch primary to postgres', 'monitoring'],
  'restart-temporal': ['backfill', 'verify', 'monitoring'],
};

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 2–3 faults of distinct kinds among `kinds`, each in one of its allowed phases. */
export function planSchedule(seed: number, kinds: readonly FaultKind[]): PlannedFault[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const pool = kinds.filter((k) => FAULT_PHASES[k].length > 0);
  const n = Math.min(pool.length, 2 + Math.floor(rnd() * 2));
  const chosen: FaultKind[] = [];
  while (chosen.length < n) {
    const k = pick(pool);
    if (chosen.includes(k)) continue;
    if ((k === 'start-instance' && chosen.includes('refuse-writes')) || (k === 'refuse-writes' && chosen.includes('start-instance'))) {
      if (pool.length - chosen.length <= 1) break;
      continue;
    }
    chosen.push(k);
  }
  return chosen.map((kind) => {
    const f: PlannedFault = { kind, phase: pick(FAULT_PHASES[kind]) };
    if (kind === 'freeze-instance') f.seconds = 11 + Math.floor(rnd() * 3); // past the 10 s TTL
    if (kind === 'refuse-writes') f.seconds = 4 + Math.floor(rnd() * 4);
    return f;
  });
}

export function describeSchedule(s: PlannedFault[]): string {
  return s.map((f) => `${f.kind}${f.seconds ? ` ${f.seconds}s` : ''} @ ${f.phase}`).join('; ');
}
