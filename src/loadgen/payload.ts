import type { Prng } from './prng';

/** Realistic-looking record payloads, drawn from the run's PRNG. */
export const KINDS = ['note', 'fact', 'preference', 'episode', 'summary'] as const;

const WORDS = (
  'user prefers dark roast coffee meeting moved to thursday remember the dentist appointment ' +
  'project lichen migration partition monthly backfill parity checksum agent summary of the ' +
  'conversation about travel plans in spring allergic to peanuts favourite colour is green ' +
  'deadline next friday budget approved draft reviewed by legal'
).split(' ');

export function pickKind(prng: Prng): string {
  return KINDS[prng.int(KINDS.length)];
}

/**
 * Content between ~20 and ~400 characters. `tag` (an operation counter) makes every write's
 * content unique, so the oracle can tell two versions apart even at the same updatedAt.
 */
export function makeContent(prng: Prng, tag: string): string {
  const words = 3 + prng.int(60);
  const parts: string[] = [];
  for (let i = 0; i < words; i++) parts.push(WORDS[prng.int(WORDS.length)]);
  return `[${tag}] ${parts.join(' ')}`;
}
