/** Calendar months in UTC: [start, end) ranges as ISO strings, the unit of parity checks. */
export interface MonthRange {
  /** "YYYY-MM" */
  month: string;
  from: string;
  to: string;
}

export function monthOf(d: Date): MonthRange {
  const from = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  const to = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
  return { month: from.toISOString().slice(0, 7), from: from.toISOString(), to: to.toISOString() };
}

/** Every month from the one holding `first` to the one holding `last`, inclusive. */
export function monthsBetween(first: Date, last: Date): MonthRange[] {
  const out: MonthRange[] = [];
  let cur = monthOf(first);
  const end = monthOf(last).month;
  for (let guard = 0; guard < 1200; guard++) {
    out.push(cur);
    if (cur.month >= end) break;
    cur = monthOf(new Date(cur.to));
  }
  return out;
}

export function mergeMonths(...lists: MonthRange[][]): MonthRange[] {
  const m = new Map<string, MonthRange>();
  for (const l of lists) for (const r of l) m.set(r.month, r);
  return [...m.values()].sort((a, b) => a.month.localeCompare(b.month));
}
