import { rangeChecksumSql, type Checksum } from '../../src/memory-layer/checksum';
import type { ActivityDeps } from '../index';
import { monthsSpanned } from './preflight';
import { exactUpsertSql, HEAP, SELECT_COLUMNS, SHADOW } from './sql';
import { checkout } from '../../src/config/pg-checkout';

/**
 * One month of the heap-to-partitioned conversion's parity: the source table against its shadow,
 * in one snapshot. Not the production cutover's memory-against-Postgres month check
 * (activities/production/verify.ts `MonthParity`, with drift and repair).
 */
export interface ShadowMonthParity {
  month: string; // 'YYYY-MM-01'
  source: Checksum;
  shadow: Checksum;
  match: boolean;
}



/**
 * Count and checksum per month of two tables, both read in ONE repeatable-read snapshot: the
 * mirror writes in the writer's own transaction, so in any single snapshot the two tables
 * agree exactly, even under continuous load.
 */
export async function compareMonths(
  pool: import('pg').Pool,
  source: string,
  shadow: string,
): Promise<ShadowMonthParity[]> {
  const c = await checkout(pool);
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { months } = await monthsSpanned(c, [source, shadow]);
    const out: ShadowMonthParity[] = [];
    for (const month of months) {
      const range = [month, nextMonth(month)];
      const a = await c.query<{ count: string; sum: string }>(rangeChecksumSql(source), range);
      const b = await c.query<{ count: string; sum: string }>(rangeChecksumSql(shadow), range);
      const s = { count: Number(a.rows[0].count), sum: a.rows[0].sum };
      const t = { count: Number(b.rows[0].count), sum: b.rows[0].sum };
      out.push({ month, source: s, shadow: t, match: s.count === t.count && s.sum === t.sum });
    }
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/** 'YYYY-MM-01' → the first day of the next month. */
export function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
}

export function createParityActivities(deps: Pick<ActivityDeps, 'profiles'>) {
  return {
    /** Parity heap ↔ shadow for every month either table spans. Read-only. */
    async verifyConversionParity(input: { profile: string }): Promise<ShadowMonthParity[]> {
      return compareMonths(deps.profiles.pool(input.profile), HEAP, SHADOW);
    },

    /**
     * Repairs one month: upserts every heap row of the month into the shadow exactly (rows read
     * FOR SHARE, so a concurrent writer waits and its trigger applies after), then deletes
     * shadow rows of the month that the heap does not hold. Idempotent.
     */
    async repairConversionMonth(input: { profile: string; month: string }): Promise<{ month: string; upserted: number; deleted: number }> {
      return deps.profiles.withClient(input.profile, async (c) => {
        const range = [input.month, nextMonth(input.month)];
        await c.query('BEGIN');
        try {
          await c.query(`SELECT create_monthly_partition($1::date, '${SHADOW}')`, [input.month]);
          const up = await c.query(exactUpsertSql(SHADOW,
            `SELECT ${SELECT_COLUMNS} FROM (SELECT ${SELECT_COLUMNS} FROM ${HEAP} h
               WHERE h.created_at >= $1::date AND h.created_at < $2::date FOR SHARE) src`), range);
          const del = await c.query(
            `DELETE FROM ${SHADOW} s WHERE s.created_at >= $1::date AND s.created_at < $2::date
               AND NOT EXISTS (SELECT 1 FROM ${HEAP} h WHERE h.id = s.id AND h.created_at = s.created_at)`, range);
          await c.query('COMMIT');
          return { month: input.month, upserted: up.rowCount ?? 0, deleted: del.rowCount ?? 0 };
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    },
  };
}
