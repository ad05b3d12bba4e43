import type { Pool } from 'pg';
import type { RunningApps } from './app';
import { parsePrometheus, sumOf } from '../../activities/lib/prom';

/** An injected Postgres fault on this month's partition of memory_records, until `undo()`. */
export interface WriteFault {
  undo(): Promise<void>;
}

async function onCurrentPartition(pool: Pool, name: string, body: string): Promise<WriteFault> {
  const part = (await pool.query(`SELECT 'memory_records_' || to_char(now(), 'YYYY_MM') AS p`)).rows[0].p as string;
  await pool.query(`
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${body} END $$;
    CREATE TRIGGER ${name} BEFORE INSERT OR UPDATE ON ${part} FOR EACH ROW EXECUTE FUNCTION ${name}();`);
  return { undo: async () => void (await pool.query(`DROP TRIGGER ${name} ON ${part}; DROP FUNCTION ${name}()`)) };
}

/**
 * A fifth of the writes to this month's partition (where the load creates records) stall for
 * `seconds`. Write p99 rises to about `seconds`; the app's pool queues behind the stalled
 * writes much less than if every write stalled.
 */
export function slowWrites(pool: Pool, seconds: number): Promise<WriteFault> {
  return onCurrentPartition(pool, 'slow_down', `IF random() < 0.2 THEN PERFORM pg_sleep(${seconds.toFixed(3)}); END IF; RETURN NEW;`);
}

/**
 * How long `slowWrites` should stall so that the health check must see it: five times the
 * run's pre-switch baseline p99 (at least 400 ms, at most 5 s), well past the allowed 3×
 * however busy the machine was when the baseline was measured.
 */
export function stallSecondsFor(baselineP99Ms: unknown): number {
  return Math.min(Math.max(0.4, (5 * (Number(baselineP99Ms) || 0)) / 1000), 5);
}

/**
 * Every write to this month's partition fails. While memory is primary the app still
 * acknowledges those writes and counts dual-write failures: Postgres falls behind.
 */
export function failWrites(pool: Pool): Promise<WriteFault> {
  return onCurrentPartition(pool, 'refuse_write', `RAISE EXCEPTION 'injected: disk full';`);
}

/** dual_write_failures_total summed over the in-process instances. */
export async function dualWriteFailures(apps: RunningApps): Promise<number> {
  let total = 0;
  for (const i of apps.instances) total += sumOf(parsePrometheus(await i.service.metricsText()), 'dual_write_failures_total');
  return total;
}

/** Keeps `fault` until at least `n` more dual-write failures were counted (at most a minute). */
export async function failuresWhile(apps: RunningApps, fault: WriteFault, n: number): Promise<number> {
  const before = await dualWriteFailures(apps);
  const until = Date.now() + 60_000;
  try {
    while ((await dualWriteFailures(apps)) < before + n && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  } finally {
    await fault.undo();
  }
  return (await dualWriteFailures(apps)) - before;
}
