import type { LoadHandle } from '../../src/loadgen/generator';

/**
 * Waits until the load has acknowledged `more` operations beyond what it had acknowledged when
 * called (or `capMs` passes). Tests size their load by volume this way, not by a duration: on a
 * loaded machine a fixed duration yields fewer operations, and a volume check after a fixed
 * duration is a timing assertion in disguise.
 */
export async function ackedAtLeast(load: LoadHandle, more: number, capMs = 120_000): Promise<number> {
  const target = load.stats().acked + more;
  const deadline = Date.now() + capMs;
  while (load.stats().acked < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return load.stats().acked;
}
