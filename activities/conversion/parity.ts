import type { PoolClient } from 'pg';
import { rowValueSql, type Checksum } from '../../src/memory-layer/checksum';
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
 * Count and checksum of every month of `table` in ONE scan: the checksum's row value summed per
 * month, the month found by width_bucket over the months' lower bounds ($1: the first days of
 * `months` and the day after the last, as timestamptz in the session's time zone, UTC for the
 * worker: the same ranges [month, next month) the repair uses). Bucket i (1-based) is months[i-1];
 * rows outside every month (none: `months` spans both tables) land in bucket 0 or n+1.
 */
export function monthlyChecksumSql(table: string): string {
  return `SELECT width_bucket(t.created_at, $1::timestamptz[]) AS bucket, count(*)::bigint AS count,
                 coalesce(sum(${rowValueSql('t')}), 0)::text AS sum
            FROM ${table} t GROUP BY 1`;
}

async function monthlyChecksums(c: PoolClient, table: string, months: string[]): Promise<Map<string, Checksum>> {
  const bounds = [...months, nextMonth(months[months.length - 1])];
  const r = await c.query<{ bucket: number; count: string; sum: string }>(monthlyChecksumSql(table), [bounds]);
  const out = new Map<string, Checksum>();
  for (const x of r.rows) {
    const month = months[x.bucket - 1];
    if (!month) throw new Error(`parity: ${x.count} rows of ${table} fall outside ${bounds[0]} .. ${bounds[bounds.length - 1]} (written between the bounds and the scan in one snapshot?)`);
    out.set(month, { count: Number(x.count), sum: x.sum });
  }
  return out;
}

/**
 * Count and checksum per month of two tables, both read in ONE repeatable-read snapshot: the
 * mirror writes in the writer's own transaction, so in any single snapshot the two tables
 * agree exactly, even under continuous load. One aggregate scan per table (every month at
 * once), not one range query per month and table.
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
    const a = months.length ? await monthlyChecksums(c, source, months) : new Map<string, Checksum>();
    const b = months.length ? await monthlyChecksums(c, shadow, months) : new Map<string, Checksum>();
    await c.query('COMMIT');
    const none: Checksum = { count: 0, sum: '0' };
    return months.map((month) => {
      const s = a.get(month) ?? none;
      const t = b.get(month) ?? none;
      return { month, source: s, shadow: t, match: s.count === t.count && s.sum === t.sum };
    });
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
