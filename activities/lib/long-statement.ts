import type { ClientBase } from 'pg';
import { Context } from '@temporalio/activity';
import type { ProfileResolver } from '../../src/config/profiles';

type Q = Pick<ClientBase, 'query'>;

/** What a long statement reports in its heartbeat: the step, and Postgres' own progress when it has one. */
export interface LongStatementBeat {
  step: string;
  /** From pg_stat_progress_create_index: its phase and blocks/tuples done of total. */
  progress?: { phase: string; done: number; total: number; percent: number | null };
}

/** How often the backend checks that the worker is still connected while a statement runs (ms). */
export const CLIENT_CHECK_MS = 2000;

/**
 * Runs one long statement (an index build CONCURRENTLY, a VALIDATE CONSTRAINT: minutes to hours
 * on a large table, with no row loop to heartbeat from) so that a lost worker or an abort does not
 * leave it running:
 * - the session sets `client_connection_check_interval` (PostgreSQL 14+, a user setting): when the
 *   worker dies (SIGKILL, its socket closed) the backend notices within seconds and aborts the
 *   statement, instead of building on for hours for nobody and holding its lock against the
 *   retry; a CONCURRENTLY build aborted so leaves an INVALID index, which the retry drops and
 *   builds again;
 * - a side connection heartbeats every 2 s with Postgres' progress of the build
 *   (pg_stat_progress_create_index), so the workflow's heartbeat timeout, not the hour-long
 *   start-to-close timeout, decides when a silent worker is replaced;
 * - when the activity is cancelled (the run's abort), the side connection cancels the statement
 *   (pg_cancel_backend of this session's pid).
 * Outside an activity (library use) it only runs the statement.
 */
export async function runLongStatement<T>(c: Q, profiles: Pick<ProfileResolver, 'withClient'>, profile: string, step: string, run: () => Promise<T>): Promise<T> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return run();
  }
  await c.query(`SET client_connection_check_interval = ${CLIENT_CHECK_MS}`);
  const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const beat = async (): Promise<void> => {
    let progress: LongStatementBeat['progress'];
    try {
      const r = await profiles.withClient(profile, (s) => s.query<{ phase: string; done: string; total: string }>(
        `SELECT phase, GREATEST(blocks_done, tuples_done)::text AS done, GREATEST(blocks_total, tuples_total)::text AS total FROM pg_stat_progress_create_index WHERE pid = $1`, [pid]));
      const p = r.rows[0];
      if (p) progress = { phase: p.phase, done: Number(p.done), total: Number(p.total), percent: Number(p.total) > 0 ? Math.round((1000 * Number(p.done)) / Number(p.total)) / 10 : null };
    } catch {
      // progress is best-effort; the heartbeat itself is what matters
    }
    ctx!.heartbeat({ step, ...(progress ? { progress } : {}) } satisfies LongStatementBeat);
  };
  let running = true;
  const timer = setInterval(() => void beat(), 2000);
  // Only while this statement runs: afterwards the pooled session may run someone else's query.
  const cancel = (): void => {
    if (running) void profiles.withClient(profile, (s) => s.query('SELECT pg_cancel_backend($1)', [pid])).catch(() => undefined);
  };
  ctx.cancelled.catch(cancel);
  try {
    ctx.heartbeat({ step } satisfies LongStatementBeat);
    return await run();
  } finally {
    running = false;
    clearInterval(timer);
  }
}
