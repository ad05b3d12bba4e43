import type { Prng } from './prng';

/**
 * Start of the calendar month (UTC) `monthsBack` months before the one containing `now`.
 * Partitions are monthly on created_at, so seeding by calendar month is what exercises them.
 */
export function monthStartUtc(now: Date, monthsBack: number): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - monthsBack, 1));
}

/**
 * A millisecond instant inside calendar month `monthsBack` (0 = the current month), never in
 * the future: uniformly in [month start, min(next month start, now)).
 */
export function instantInMonth(prng: Prng, now: Date, monthsBack: number): Date {
  const from = monthStartUtc(now, monthsBack).getTime();
  const to = Math.min(monthStartUtc(now, monthsBack - 1).getTime(), now.getTime());
  return new Date(from + Math.floor(prng.next() * Math.max(1, to - from)));
}

/** A millisecond instant uniformly in [start of the month `months` - 1 months back, now). */
export function instantInPastMonths(prng: Prng, now: Date, months: number): Date {
  const from = monthStartUtc(now, months - 1).getTime();
  return new Date(from + Math.floor(prng.next() * Math.max(1, now.getTime() - from)));
}
