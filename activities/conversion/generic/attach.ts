import type { ClientBase } from 'pg';
import type { ActivityDeps } from '../../index';
import { nonRetryable } from '../../lib/errors';
import { planConversion, type ConversionPlan, type PlanPhase } from '../plan/plan';
import { runPhaseInTransaction } from './execute';
import { dropUnlessOnlyThere, keptTables, type KeptTable } from '../keep-or-drop';
import { qi } from '../../../src/conversion/choice/names';
import { tableText } from '../../../src/conversion/choice/choice';
import { ATTACH_BOUND_MARGIN_MS } from '../../../src/shared/attach-margin';
import { runLongStatement } from '../../lib/long-statement';
import type { GenericInput } from './activities';
import { heartbeating, swapLock, swapLockTimeout } from './swap-lock';

/** Mode attach's activities take the bound chosen at preflight: every step plans the same statements. */
export interface AttachInput extends GenericInput {
  attachBound: number;
}

/** What the rollback after the swap runs, recorded before the swap (the catalog no longer plans it afterwards). */
export interface AttachPost {
  table: string;
  schema: string;
  name: string;
  history: string;
  historyName: string;
  /** The parent's name while it is compared (keep-or-drop.ts). */
  parked: string;
  bound: string;
  swapBack: string[];
  restoreKey: { build: string; swapIn: string[]; indexName: string; restoreName: string } | null;
  keyIndexName: string | null;
  /** The heap's original key (without the partition column), checked at the swap back when restoreKey is set (absent: recorded before this field). */
  keyColumns?: string[];
}

export interface AttachSwapResult {
  swapped: boolean;
  tries: number;
  /** How long the swap held its ACCESS EXCLUSIVE lock: its LOCK TABLE done to COMMIT acknowledged (ms; null: swapped by an earlier attempt). */
  lockMs: number | null;
  /** The swap's transaction, BEGIN to COMMIT acknowledged (ms; null: swapped by an earlier attempt). */
  transactionMs: number | null;
  partitionsCreated: string[];
  history: string;
  bound: string;
}

export interface AttachSwapBackResult {
  swappedBack: boolean;
  /** Rows the new partitions took since the swap, moved back into the heap. */
  movedBack?: number;
  droppedPartitioned?: boolean;
  kept?: KeptTable;
  keptEarlier?: string[];
  lockMs?: number;
  /** The heap's original key rebuilt (CONCURRENTLY) and swapped in. */
  keyRestored?: boolean;
}

type Q = Pick<ClientBase, 'query'>;


/** Refuses (non-retryable, the run rolls back before the swap) when the bound is less than the margin away. */
function refuseNearBound(bound: number, what: string): void {
  if (Date.now() <= bound - ATTACH_BOUND_MARGIN_MS) return;
  throw nonRetryable('AttachBoundReached', `${what}: the bound ${new Date(bound).toISOString()} is less than an hour away (or past): from the check's addition until the swap, every write with the partition column at or beyond it is refused (23514); the run rolls back before the swap (the check goes); start it again: a new bound is chosen`);
}

const stmtPlan = (table: string, statements: string[], name: PlanPhase['phase']): ConversionPlan =>
  ({ table, blockers: [], phases: [{ phase: name, what: name, statements }] }) as unknown as ConversionPlan;

async function relkind(c: Q, qualified: string): Promise<string | null> {
  return (await c.query<{ k: string | null }>(`SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k`, [qualified])).rows[0]?.k ?? null;
}

/** The heap is attached: `table` is partitioned and `history` is one of its partitions. */
export async function isAttached(c: Q, table: string, history: string): Promise<boolean> {
  const r = await c.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($2) AND inhparent = to_regclass($1)) AND (SELECT relkind FROM pg_class WHERE oid = to_regclass($1)) = 'p' AS ok`, [table, history]);
  return r.rows[0].ok === true;
}

/** An index by name in a schema: absent, valid, or invalid (a failed CONCURRENTLY build leaves it so). */
async function indexState(c: Q, schema: string, name: string): Promise<'absent' | 'valid' | 'invalid'> {
  const r = await c.query<{ v: boolean }>(`SELECT i.indisvalid AS v FROM pg_index i WHERE i.indexrelid = to_regclass(format('%I.%I', $1::text, $2::text))`, [schema, name]);
  return r.rows.length === 0 ? 'absent' : r.rows[0].v ? 'valid' : 'invalid';
}

/** CREATE … CONCURRENTLY IF NOT EXISTS, after dropping an invalid index of the same name (left by a failed build): idempotent. */
async function buildConcurrently(c: Q, schema: string, name: string, create: string): Promise<boolean> {
  const st = await indexState(c, schema, name);
  if (st === 'valid') return false;
  if (st === 'invalid') await c.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qi(schema)}.${qi(name)}`);
  await c.query(create);
  return true;
}

/** The parked name: absent, the parent this run's prepare built (its temporary index name is there and on it), or something else. */
async function parentState(c: Q, parked: string, schema: string, mark: string): Promise<'absent' | 'ours' | 'other'> {
  const r = await c.query<{ k: string | null; ours: boolean }>(
    `SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS k,
            EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(format('%I.%I', $2::text, $3::text)) AND indrelid = to_regclass($1)) AS ours`, [parked, schema, mark]);
  const x = r.rows[0];
  return x.k === null ? 'absent' : x.k === 'p' && x.ours ? 'ours' : 'other';
}

async function schemaOf(c: Q, table: string): Promise<string> {
  return (await c.query<{ s: string }>(`SELECT n.nspname AS s FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, [table])).rows[0].s;
}

async function checkState(c: Q, table: string, name: string): Promise<'absent' | 'not-valid' | 'valid'> {
  const r = await c.query<{ v: boolean }>(`SELECT convalidated AS v FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2`, [table, name]);
  return r.rows.length === 0 ? 'absent' : r.rows[0].v ? 'valid' : 'not-valid';
}

function collision(o: AttachPost, what: string) {
  return nonRetryable('SwapBackKeyCollision', `the swap back of ${o.table} is refused, nothing changed (it is still partitioned and serving, ${o.history} attached): rows written since the swap collide on a key the heap enforces again after it: ${what}. Delete or re-key the colliding rows written since the swap (in the partitions from ${o.bound} on), then retry the rollback; or keep the partitioned table`);
}

/**
 * Inside the swap back's transaction, after the rows of the new partitions were moved back: the
 * (key, column) key let a row written since the swap reuse a key of the heap with another
 * partition-column value; the heap's original key (rebuilt next) would then fail on it after the
 * table had already gone back. Each moved-back row is looked up by the key prefix of the
 * (key, column) index: no scan of the heap under the lock.
 */
async function refuseKeyCollisions(t: Q, o: AttachPost, key: string[]): Promise<void> {
  const cols = key.map(qi);
  const eq = cols.map((k) => `h.${k} = p.${k}`).join(' AND ');
  const r = await t.query<{ k: string }>(`SELECT format('(%s)', concat_ws(', ', ${cols.map((k) => `p.${k}::text`).join(', ')})) AS k FROM ${o.parked} p WHERE (SELECT count(*) FROM ${o.table} h WHERE ${eq}) > 1 LIMIT 10`);
  if (r.rows.length) throw collision(o, `(${key.join(', ')}) = ${r.rows.map((x) => x.k).join(', ')}${r.rows.length === 10 ? ' (first 10)' : ''} held twice`);
}

export function createAttachActivities(deps: Pick<ActivityDeps, 'profiles'>) {
  const planned = async (c: ClientBase, i: AttachInput) => {
    const p = await planConversion(c, i.choice, i.planAt, i.facts, { attachBound: i.attachBound });
    if (!p.ok || !p.attach) throw nonRetryable('PlanChanged', `the plan of ${p.table} in mode attach is blocked now (${p.blockers.map((b) => `${b.code} ${b.object}`).join(', ')}): the table changed since preflight`);
    return p as ConversionPlan & { attach: NonNullable<ConversionPlan['attach']> };
  };
  return {
    /**
     * Before the swap, without blocking writes: the (key, partition column) index CONCURRENTLY,
     * the bound's CHECK added NOT VALID (a lock-bounded transaction) and VALIDATEd. Idempotent:
     * a valid index or check is kept, an invalid index is dropped and built again. The build and
     * the VALIDATE heartbeat Postgres' progress and stop with a lost worker or an abort
     * (lib/long-statement.ts).
     */
    async attachPrepare(i: AttachInput): Promise<{ indexBuilt: boolean; checkAdded: boolean; validated: boolean; bound: string }> {
      return deps.profiles.withClient(i.profile, async (c) => {
        await c.query('SET row_security = off');
        const p = await planned(c, i);
        const x = p.attach;
        const schema = await schemaOf(c, p.table);
        const key = x.keyIndex;
        const before = await checkState(c, p.table, x.check.name);
        if (before !== 'valid') refuseNearBound(i.attachBound, `the bound check of ${p.table} is not added`);
        const indexBuilt = key ? await runLongStatement(c, deps.profiles, i.profile, `index ${key.name}`, () => buildConcurrently(c, schema, key.name, key.create)) : false;
        const state = await checkState(c, p.table, x.check.name);
        // Again after the build (hours on a large table): the check is never added this close to the bound.
        if (state !== 'valid') refuseNearBound(i.attachBound, `the bound check of ${p.table} is not added`);
        if (state === 'absent') await runPhaseInTransaction(c, stmtPlan(p.table, [x.check.add], 'attach prepare'), 'attach prepare', i.lockTimeoutMs);
        if (state !== 'valid') {
          await runLongStatement(c, deps.profiles, i.profile, `validate ${x.check.name}`, () => c.query(x.check.validate)).catch((err: { code?: string; message?: string }) => {
            // Rows written between preflight's scan and the check's addition: no retry can pass; the run rolls back before the swap (the check goes).
            if (err.code === '23514') throw nonRetryable('AttachBoundViolated', `VALIDATE of ${x.check.name} on ${p.table} failed (${err.message}): rows written since preflight have ${p.partitionBy.column} NULL or at or beyond the bound ${x.boundText} (find them: ${x.check.violators}); UPDATE or delete them, make sure the application writes none, then start the run again`);
            throw err;
          });
        }
        // The parent and its partitions, built now so that the swap's lock holds only renames and the attach (idempotent: the tool's parent is kept).
        const parent = await parentState(c, p.names.shadow, schema, x.parentMark);
        if (parent === 'other') throw nonRetryable('ParkedNameTaken', `${p.names.shadow} exists and is not the partitioned table this run builds (no index ${x.parentMark}): rename or drop it, then start the run again (the check goes with the rollback before the swap)`);
        if (parent === 'absent') await runPhaseInTransaction(c, stmtPlan(p.table, x.parent, 'attach prepare'), 'attach prepare', i.lockTimeoutMs);
        return { indexBuilt, checkAdded: state === 'absent', validated: state !== 'valid', bound: x.boundText };
      });
    },

    /** The swap back's statements, recorded before the swap. */
    async attachPostStatements(i: AttachInput): Promise<AttachPost> {
      return deps.profiles.withClient(i.profile, async (c) => {
        const p = await planned(c, i);
        const x = p.attach;
        const n = (await c.query<{ schema: string; name: string }>(`SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, [p.table])).rows[0];
        return {
          table: p.table, schema: n.schema, name: n.name, history: x.history, historyName: x.historyName, parked: p.names.shadow, bound: x.boundText,
          swapBack: x.swapBack,
          restoreKey: x.restoreKey && x.keyIndex ? { ...x.restoreKey, indexName: x.keyIndex.name, restoreName: /INDEX CONCURRENTLY IF NOT EXISTS "((?:[^"]|"")+)"/.exec(x.restoreKey.build)![1].replace(/""/g, '"') } : null,
          keyIndexName: x.keyIndex?.name ?? null,
          keyColumns: p.key?.columns ?? [],
        };
      });
    },

    /**
     * The swap: ONE transaction under lock_timeout, a lock timeout retried with backoff up to
     * `swapRetry.maxTries` (heartbeating; an abort ends it), then SwapLockTimeout (catalog only: the
     * validated check spares the attach's scan). Idempotent: already attached is done. Refused
     * within an hour of the bound (writes at or beyond it are refused until the swap).
     */
    async attachSwap(i: AttachInput): Promise<AttachSwapResult> {
      return heartbeating('attach swap', () => deps.profiles.withClient(i.profile, async (c) => {
        const table = (await c.query<{ t: string }>(`SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, [i.choice.table.schema ? `${qi(i.choice.table.schema)}.${qi(i.choice.table.name)}` : qi(i.choice.table.name)])).rows[0]?.t;
        if (table && (await relkind(c, table)) === 'p') {
          const r = await c.query<{ h: string | null }>(`SELECT format('%I.%I', n.nspname, k.relname) AS h FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid JOIN pg_namespace n ON n.oid = k.relnamespace WHERE i.inhparent = to_regclass($1) AND pg_get_expr(k.relpartbound, k.oid) LIKE 'FOR VALUES FROM (MINVALUE)%'`, [table]);
          if (r.rows[0]?.h) return { swapped: false, tries: 0, lockMs: null, transactionMs: null, partitionsCreated: [], history: r.rows[0].h, bound: new Date(i.attachBound).toISOString() };
        }
        refuseNearBound(i.attachBound, `the attach swap of ${table ?? tableText(i.choice.table)} is not started`);
        const p = await planned(c, i);
        const lock = swapLock(i);
        try {
          // A run whose prepare built no parent (started before it did) builds it inside the lock, as then.
          const ahead = (await parentState(c, p.names.shadow, await schemaOf(c, p.table), p.attach.parentMark)) === 'ours';
          const r = await runPhaseInTransaction(c, stmtPlan(p.table, ahead ? p.attach.swap : p.attach.swapWhole, 'attach swap'), 'attach swap', lock);
          return { swapped: true, tries: r.tries, lockMs: r.lockMs, transactionMs: r.transactionMs, partitionsCreated: p.attach.partitionNames, history: p.attach.history, bound: p.attach.boundText };
        } catch (err) {
          if ((err as { code?: string }).code === '55P03') throw swapLockTimeout('the attach swap', p.table, lock, err);
          throw err;
        }
      }));
    },

    /** After the swap (retention's check): the heap is still the history partition of the table. Read-only. */
    async attachHealth(i: { profile: string; post: AttachPost }): Promise<{ attached: boolean; rowsInNewPartitions: string }> {
      return deps.profiles.withClient(i.profile, async (c) => {
        const attached = await isAttached(c, i.post.table, i.post.history);
        const n = attached ? (await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${i.post.table} WHERE tableoid <> to_regclass($1)`, [i.post.history])).rows[0].n : '0';
        return { attached, rowsInNewPartitions: n };
      });
    },

    /**
     * The rollback after the swap: in one lock-bounded transaction the heap is detached, the rows
     * written since into the new partitions move back into it, names, triggers, views, sequences
     * and publications go back; in it, after its locks, the partitioned table is dropped only
     * when it holds no row the heap lacks, else kept aside and named. Then the heap's original key
     * is rebuilt CONCURRENTLY and swapped in. Idempotent (each step checks the state first).
     */
    async attachSwapBack(i: { profile: string; post: AttachPost; lockTimeoutMs: number }): Promise<AttachSwapBackResult> {
      return deps.profiles.withClient(i.profile, async (c) => {
        const o = i.post;
        const out: AttachSwapBackResult = { swappedBack: false };
        if (await isAttached(c, o.table, o.history)) {
          let moved = 0;
          // Heartbeating (the rows written since move back inside it): a lost worker's transaction ends with its connection, and another worker retries.
          const r = await runLongStatement(c, deps.profiles, i.profile, 'swap back', () => runPhaseInTransaction(c, stmtPlan(o.table, o.swapBack, 'attach rollback after swap'), 'attach rollback after swap', i.lockTimeoutMs, 100, async (t) => {
            moved = Number((await t.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${o.parked}`)).rows[0].n);
            if (o.restoreKey && o.keyColumns?.length) await refuseKeyCollisions(t, o, o.keyColumns);
            return dropUnlessOnlyThere(t, { candidate: o.parked, reference: o.table, schema: o.schema, base: o.name });
          })).catch((err: { code?: string; detail?: string; message?: string }) => {
            // A unique index the history partition kept (a key chosen "drop") refuses a moved-back row: rolled back, still attached.
            if (err.code === '23505') throw collision(o, `${err.message}${err.detail ? ` (${err.detail})` : ''}`);
            throw err;
          });
          Object.assign(out, { swappedBack: true, movedBack: moved, droppedPartitioned: r.finished!.dropped, lockMs: r.lockMs, ...(r.finished!.kept ? { kept: r.finished!.kept } : {}) });
        } else {
          const kept = await keptTables(c, o.schema, o.name);
          if (kept.length) out.keptEarlier = kept;
        }
        // The original key: while the (key, column) constraint is still the heap's, rebuild the original and swap it in.
        if (o.restoreKey && (await relkind(c, o.table)) === 'r') {
          const still = (await c.query(`SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2`, [o.table, o.keyIndexName])).rows.length > 0;
          if (still) {
            const rk = o.restoreKey;
            await runLongStatement(c, deps.profiles, i.profile, `index ${rk.restoreName}`, () => buildConcurrently(c, o.schema, rk.restoreName, rk.build));
            await runLongStatement(c, deps.profiles, i.profile, 'restore key', () => runPhaseInTransaction(c, stmtPlan(o.table, rk.swapIn, 'attach restore key'), 'attach restore key', i.lockTimeoutMs, 100));
            out.keyRestored = true;
          }
        }
        return out;
      });
    },

    /**
     * The rollback before the swap: the check and the index are the tool's own, both go (the
     * check would refuse writes beyond the bound). Idempotent (IF EXISTS). Refused once swapped.
     */
    async attachRollbackBeforeSwap(i: AttachInput): Promise<{ droppedCheck: boolean; droppedIndex: boolean; droppedParent: boolean }> {
      return deps.profiles.withClient(i.profile, async (c) => {
        const p = await planConversion(c, i.choice, i.planAt, i.facts, { attachBound: i.attachBound });
        if ((await relkind(c, p.table)) === 'p') throw nonRetryable('StillSwapped', `${p.table} is partitioned: swap back first (the saga's swap back runs before this)`);
        const x = p.attach;
        if (!x) throw nonRetryable('PlanChanged', `${p.table} cannot be planned in mode attach any more (${p.blockers.map((b) => b.code).join(', ')}): drop the CHECK lichen_attach_bound_* and the *_history index by hand`);
        const hadCheck = (await checkState(c, p.table, x.check.name)) !== 'absent';
        if (hadCheck) await runPhaseInTransaction(c, stmtPlan(p.table, [x.check.drop], 'attach rollback before swap'), 'attach rollback before swap', i.lockTimeoutMs, 100);
        let droppedIndex = false;
        if (x.keyIndex) {
          const schema = await schemaOf(c, p.table);
          droppedIndex = (await indexState(c, schema, x.keyIndex.name)) !== 'absent';
          const drop = x.keyIndex.drop;
          // DROP INDEX CONCURRENTLY waits for every transaction older than it: heartbeat meanwhile, stop with a lost worker.
          if (droppedIndex) await runLongStatement(c, deps.profiles, i.profile, `drop ${x.keyIndex.name}`, () => c.query(drop));
        }
        // The parent built by the prepare: the tool's own (it still carries the temporary index name) and empty, else kept and named.
        const parent = await parentState(c, p.names.shadow, await schemaOf(c, p.table), x.parentMark);
        let droppedParent = false;
        if (parent === 'ours') {
          const rows = Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${p.names.shadow}`)).rows[0].n);
          if (rows > 0) throw nonRetryable('ParkedParentNotEmpty', `${p.names.shadow}, the partitioned table built by this run's prepare, holds ${rows} row(s) (nothing of the tool's writes there before the swap): it is kept; look at its rows, then DROP TABLE ${p.names.shadow} by hand`);
          await runPhaseInTransaction(c, stmtPlan(p.table, [x.parentDrop], 'attach rollback before swap'), 'attach rollback before swap', i.lockTimeoutMs, 100);
          droppedParent = true;
        }
        return { droppedCheck: hadCheck, droppedIndex, droppedParent };
      });
    },
  };
}

export type AttachActivities = ReturnType<typeof createAttachActivities>;
