import { Context } from '@temporalio/activity';
import type { ClientBase, Pool } from 'pg';
import { lockBackoffMs, type LockRetryOptions } from '../locks';
import type { ConversionPlan, PlanPhase } from '../plan/plan';
import { wholeChecksumSql } from '../plan/move-sql';

/**
 * Runs a plan's phases against the database, statement by statement, as the plan lists them —
 * the building blocks of the generic conversion's activities (the workflow adds the locks'
 * retries, heartbeats and approvals around them).
 */
export function phase(plan: ConversionPlan, name: PlanPhase['phase']): string[] {
  const p = plan.phases.find((x) => x.phase === name);
  if (!p) throw new Error(`the plan of ${plan.table} has no phase ${name}: it is blocked (${plan.blockers.map((b) => b.code).join(', ')})`);
  return p.statements;
}

export async function runPhase(c: Pick<ClientBase, 'query'>, plan: ConversionPlan, name: PlanPhase['phase']): Promise<void> {
  for (const s of phase(plan, name)) await c.query(s);
}

const RETRYABLE = new Set(['55P03', '40P01']);

/** The tries of a number-only call without `tries` (runs started before the input's `swap.maxTries`). */
export const DEFAULT_LOCK_TRIES = 20;

/** The retries of a number-only call (`lockTimeoutMs`, `tries`): 100 ms doubled per try, capped at 2 s. */
const LEGACY_BACKOFF = { backoffMs: 100, maxBackoffMs: 2000 };

/** The activity's context when inside one (library and test calls run outside any). */
function activity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * Runs a phase in ONE transaction whose lock waits are bounded by lock_timeout (the swap, the
 * swap back, the sync's installation, the drop), retried with backoff (locks.ts) on a lock
 * timeout or a deadlock (the transaction rolled back: nothing happened), up to `maxTries`; the
 * last try's error is thrown. Inside an activity it heartbeats after each failed try and its
 * backoff ends with a cancellation (an abort). `lock` is the lock_timeout alone (then `tries`
 * tries, backoff 100 ms to 2 s) or every setting. `finish` runs last, inside it (after the phase
 * took its locks). `lockMs`: from the phase's first LOCK TABLE done to COMMIT acknowledged (the
 * whole transaction when it has none); `transactionMs`: BEGIN to COMMIT acknowledged.
 */
export async function runPhaseInTransaction<T = undefined>(c: ClientBase, plan: ConversionPlan, name: PlanPhase['phase'], lock: number | LockRetryOptions = 2000, tries = DEFAULT_LOCK_TRIES, finish?: (c: ClientBase) => Promise<T>): Promise<{ tries: number; lockMs: number; transactionMs: number; finished?: T }> {
  const o: LockRetryOptions = typeof lock === 'number' ? { lockTimeoutMs: lock, maxTries: tries, ...LEGACY_BACKOFF } : lock;
  const ctx = activity();
  for (let attempt = 1; ; attempt++) {
    const t0 = performance.now();
    let locked: number | undefined;
    await c.query('BEGIN');
    try {
      await c.query(`SELECT set_config('lock_timeout', $1, true)`, [`${o.lockTimeoutMs}ms`]);
      // Every row or an error, never a filter (a check inside reads rows: keep-or-drop.ts).
      await c.query(`SELECT set_config('row_security', 'off', true)`);
      for (const s of phase(plan, name)) {
        await c.query(s);
        if (locked === undefined && /^LOCK TABLE /.test(s)) locked = performance.now();
      }
      const finished = finish ? await finish(c) : undefined;
      await c.query('COMMIT');
      const end = performance.now();
      const ms = (from: number) => Math.round((end - from) * 10) / 10;
      return { tries: attempt, lockMs: ms(locked ?? t0), transactionMs: ms(t0), finished };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      if (!RETRYABLE.has((err as { code?: string }).code ?? '') || attempt >= o.maxTries) throw err;
      ctx?.heartbeat({ phase: name, attempt, last: (err as Error).message });
      const wait = lockBackoffMs(o, attempt);
      // An abort (the activity cancelled) ends the backoff: no further try.
      await (ctx ? ctx.sleep(wait) : new Promise((r) => setTimeout(r, wait)));
    }
  }
}

/** The keyset copy, batch after batch, up to the heap's last key when it starts. Returns rows scanned. */
export async function copyAll(pool: Pool, plan: ConversionPlan, batchSize = 500): Promise<{ rows: number; batches: number }> {
  const [lastKeySql, batchSql] = phase(plan, 'copy');
  const k = plan.key!.columns.length;
  const upper = (await pool.query<{ last_key: string[] | null }>(lastKeySql)).rows[0]?.last_key;
  if (!upper) return { rows: 0, batches: 0 };
  let cursor: (string | null)[] = Array(k).fill(null);
  let rows = 0;
  let batches = 0;
  for (;;) {
    const r = await pool.query<{ n: number; last_key: string[] | null }>(batchSql, [...cursor, ...upper, batchSize]);
    batches++;
    rows += r.rows[0].n;
    if (r.rows[0].last_key) cursor = r.rows[0].last_key;
    if (r.rows[0].n < batchSize) return { rows, batches };
  }
}

/** Count and row-image checksum of both tables over the whole range, in one snapshot. */
export async function wholeParity(c: ClientBase, a: string, b: string, _column?: string, _type?: string): Promise<{ a: { count: string; sum: string }; b: { count: string; sum: string } }> {
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await c.query(`SELECT set_config('row_security', 'off', true)`); // every row or an error, never a filter
    // Every row, whatever its partition-column value (±infinity and NULL included): no range bounds.
    const x = (await c.query<{ count: string; sum: string }>(wholeChecksumSql(a))).rows[0];
    const y = (await c.query<{ count: string; sum: string }>(wholeChecksumSql(b))).rows[0];
    return { a: x, b: y };
  } finally {
    await c.query('COMMIT');
  }
}

/**
 * What still depends on the old table besides its own parts (indexes, constraints, triggers,
 * TOAST, row type, defaults): views, foreign keys of other tables, functions, policies, rules.
 * The drop never cascades: while this is not empty it waits, naming them.
 */
export async function oldTableDependents(c: Pick<ClientBase, 'query'>, old: string): Promise<string[]> {
  const r = await c.query<{ what: string }>(
    `SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid) AS what
       FROM pg_depend d
       LEFT JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND rw.oid = d.objid
       LEFT JOIN pg_constraint co ON d.classid = 'pg_constraint'::regclass AND co.oid = d.objid
      WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass($1) AND d.deptype = 'n'
        AND NOT (d.classid = 'pg_constraint'::regclass AND co.conrelid = to_regclass($1))
        AND NOT (d.classid = 'pg_rewrite'::regclass AND rw.ev_class = to_regclass($1))
        AND NOT (d.classid = 'pg_attrdef'::regclass AND EXISTS (SELECT 1 FROM pg_attrdef ad WHERE ad.oid = d.objid AND ad.adrelid = to_regclass($1)))
        AND NOT (d.classid = 'pg_policy'::regclass AND EXISTS (SELECT 1 FROM pg_policy po WHERE po.oid = d.objid AND po.polrelid = to_regclass($1)))
        AND NOT (d.classid = 'pg_trigger'::regclass AND EXISTS (SELECT 1 FROM pg_trigger tg WHERE tg.oid = d.objid AND tg.tgrelid = to_regclass($1)))
      ORDER BY 1`,
    [old],
  );
  return r.rows.map((x) => x.what);
}

export class DropWaitsError extends Error {
  constructor(public readonly dependents: string[], old: string) {
    super(`not dropping ${old}: ${dependents.join(', ')} still depend on it (a drop never cascades); move or drop them, then the drop goes on`);
    this.name = 'DropWaitsError';
  }
}

/** The drop phase, refused (naming them) while anything outside the table depends on the old one. */
export async function dropOld(c: ClientBase, plan: ConversionPlan, lock: number | LockRetryOptions = 2000): Promise<void> {
  const deps = await oldTableDependents(c, plan.names.old);
  if (deps.length) throw new DropWaitsError(deps, plan.names.old);
  await runPhaseInTransaction(c, plan, 'drop', lock);
}
