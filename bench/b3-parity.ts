import type { Pool } from 'pg';
import type { ActivityDeps } from '../activities';
import { createVerifyActivities, type MonthParity } from '../activities/production/verify';
import type { InstanceRef } from '../activities/lib/admin-client';
import { rowValueSql } from '../src/memory-layer/checksum';
import { runActivity, rowsPerSecond, timed } from './env';

/** The bare hashing scan: the checksum's own row expression summed over the table, nothing else. */
export async function bareChecksumScan(pool: Pool, table: string): Promise<{ rows: number; ms: number }> {
  const { result, ms } = await timed(() => pool.query<{ n: string }>(`SELECT count(*)::text AS n, sum(${rowValueSql('t')}) FROM ${table} t`));
  return { rows: Number(result.rows[0].n), ms };
}

/** The cheapest row hash Postgres has, for scale: sum(hashtext(t::text)). */
export async function hashtextScan(pool: Pool, table: string): Promise<{ rows: number; ms: number }> {
  const { result, ms } = await timed(() => pool.query<{ n: string }>(`SELECT count(*)::text AS n, sum(hashtext(t::text)) FROM ${table} t`));
  return { rows: Number(result.rows[0].n), ms };
}

export interface B3Figures {
  rows: number;
  oursRowsPerSec: number;
  limitRowsPerSec: number;
  hashtextRowsPerSec: number;
  months: number;
}

/**
 * B3: `verifyMonth` for every month, two months at a time as the workflow's verifyAll does (each
 * call: the Postgres checksum and every instance's checksum over its admin API at once; no drift
 * so no row-level pass), against the bare scan of the same table. Best of two runs each,
 * interleaved.
 */
export async function measureB3(deps: ActivityDeps, pool: Pool, instances: InstanceRef[], months: { month: string; from: string; to: string }[]): Promise<B3Figures> {
  const acts = createVerifyActivities(deps);
  const ours = async () => {
    let rows = 0;
    const t = await timed(async () => {
      const queue = [...months];
      const lane = async () => {
        for (let range = queue.shift(); range; range = queue.shift()) {
          const p: MonthParity = await runActivity(acts.verifyMonth, {
            connectionProfile: 'default', table: 'memory_records', apps: { adminTokenRef: 'default' }, instances, range, repair: false, deleteExtras: false,
          });
          if (!p.match) throw new Error(`B3: month ${p.month} does not match (memory ${p.memory.count}, postgres ${p.postgres.count}); the backfill of B1 should have made them equal`);
          rows += p.postgres.count;
        }
      };
      await Promise.all([lane(), lane()]);
    });
    return { rows, ms: t.ms };
  };
  const o1 = await ours();
  const l1 = await bareChecksumScan(pool, 'memory_records');
  const o2 = await ours();
  const l2 = await bareChecksumScan(pool, 'memory_records');
  const h = await hashtextScan(pool, 'memory_records');
  if (o1.rows !== l1.rows) throw new Error(`B3: verification covered ${o1.rows} rows, the table holds ${l1.rows}`);
  return {
    rows: l1.rows,
    oursRowsPerSec: Math.max(rowsPerSecond(o1.rows, o1.ms), rowsPerSecond(o2.rows, o2.ms)),
    limitRowsPerSec: Math.max(rowsPerSecond(l1.rows, l1.ms), rowsPerSecond(l2.rows, l2.ms)),
    hashtextRowsPerSec: rowsPerSecond(h.rows, h.ms),
    months: months.length,
  };
}
