import type { ClientBase } from 'pg';
import type { TableDescriptor } from '../descriptor/types';
import type { Analysis, Blocker } from './analyse';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import { notValidConstraints } from './not-valid';
import { spellPart } from '../../../src/conversion/choice/names';
import { readTriggerWrites, type TriggerWrites } from './trigger-writes';

/**
 * The plan's section "what changes for your application": what an application that worked on
 * the heap sees differently on the partitioned table, each with its severity. A `blocker` is
 * also one of the plan's blockers (the run does not start); a `warning` may break the
 * application; `info` is a changed behaviour worth knowing.
 */
export interface AppChange {
  kind: 'on-conflict-target' | 'partition-column-not-null' | 'before-trigger' | 'update-moves' | 'identity' | 'sequence' | 'publication' | 'not-valid-constraint' | 'trigger-not-read';
  object: string;
  message: string;
  severity: 'blocker' | 'warning' | 'info';
}

/** What the plan reads for the section, besides the descriptor. */
export interface AppFacts {
  triggers: TriggerWrites[];
  /** Statement texts of pg_stat_statements with ON CONFLICT naming the table; null when not readable (reason given). */
  conflictStatements: { queries: string[]; hidden?: number } | { queries: null; reason: string };
}

/** pg_stat_statements' statements with ON CONFLICT that name the table (bare or qualified). Never fails: an unreadable view is a reason. */
/** A POSIX regex finding the table's name as a whole word, bare or quoted ("Order Events"). */
export function nameRegex(name: string): string {
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `(^|[^a-z0-9_$"])(${esc(name)}|"${esc(name.replace(/"/g, '""'))}")([^a-z0-9_$"]|$)`;
}

export async function readConflictStatements(c: Pick<ClientBase, 'query'>, d: TableDescriptor): Promise<AppFacts['conflictStatements']> {
  const ext = await c.query<{ schema: string }>(`SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`);
  if (!ext.rows.length) return { queries: null, reason: 'pg_stat_statements is not installed' };
  const view = `"${ext.rows[0].schema.replace(/"/g, '""')}".pg_stat_statements`;
  try {
    const r = await c.query<{ query: string }>(
      `SELECT DISTINCT query FROM ${view}
        WHERE query ~* 'ON[[:space:]]+CONFLICT' AND query ~* $1
        ORDER BY 1 LIMIT 50`,
      [nameRegex(d.name)],
    );
    // Other roles' statements show as '<insufficient privilege>' without pg_read_all_stats: say how many were hidden.
    const hidden = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${view} WHERE query = '<insufficient privilege>'`)).rows[0].n);
    return { queries: r.rows.map((x) => x.query), ...(hidden ? { hidden } : {}) };
  } catch (err) {
    return { queries: null, reason: `pg_stat_statements is not readable: ${(err as Error).message}` };
  }
}

export async function readAppFacts(c: Pick<ClientBase, 'query'>, d: TableDescriptor, column: string): Promise<AppFacts> {
  return { triggers: await readTriggerWrites(c, d.oid, column), conflictStatements: await readConflictStatements(c, d) };
}

const list = (xs: string[]) => xs.join(', ');

/** The section, and the blockers it raises (BEFORE row triggers that write the partition column). */
export function appChanges(d: TableDescriptor, a: Analysis, choice: ConversionChoice, f: AppFacts | null): { changes: AppChange[]; blockers: Blocker[] } {
  const col = choice.column;
  const changes: AppChange[] = [];
  const blockers: Blocker[] = [];

  // Unique keys that gain the partition column: ON CONFLICT (key) no longer finds a matching unique index.
  for (const u of a.uniqueKeys.filter((x) => x.fate === 'extended')) {
    const idx = d.indexes.find((i) => i.name === u.index);
    const cols = idx ? idx.keyElements : [];
    const name = u.constraint ?? u.index;
    const seen = f?.conflictStatements.queries;
    const hidden = f && f.conflictStatements.queries !== null && f.conflictStatements.hidden
      ? ` (${f.conflictStatements.hidden} statement(s) of other roles are hidden from the plan's role: grant it pg_read_all_stats to see them)` : '';
    const base = `unique key ${name} (${list(cols)}) becomes (${list([...cols, col])}): INSERT … ON CONFLICT (${list(cols)}) finds no matching unique index after the swap and fails (42P10); ON CONFLICT ON CONSTRAINT ${name} keeps working but only conflicts within one ${choice.interval}`;
    if (seen && seen.length) {
      changes.push({ kind: 'on-conflict-target', object: name, severity: 'warning', message: `${base}. pg_stat_statements holds ${seen.length} statement(s) with ON CONFLICT on the table: ${seen.map((q) => JSON.stringify(q.length > 300 ? `${q.slice(0, 300)}…` : q)).join('; ')}${hidden}` });
    } else {
      const why = f === null ? 'not read' : f.conflictStatements.queries === null ? f.conflictStatements.reason : `pg_stat_statements shows none since its last reset${hidden}`;
      changes.push({ kind: 'on-conflict-target', object: name, severity: 'warning', message: `${base}. Check the application's statements (${why})` });
    }
  }

  for (const u of a.uniqueKeys.filter((x) => x.fate === 'dropped')) {
    const name = u.constraint ?? u.index;
    changes.push({ kind: 'on-conflict-target', object: name, severity: 'warning', message: `unique key ${name} is not created on the new table (option drop): nothing refuses a duplicate any more, and INSERT … ON CONFLICT on its columns or ON CONSTRAINT ${name} fails after the swap (42P10 / 42704)` });
  }

  const triggers = f?.triggers ?? [];
  for (const t of triggers.filter((x) => x.row && x.before)) {
    const writes = t.writes?.includes(col) || t.writes?.includes('*');
    if (writes && t.events.includes('INSERT') && !t.enabled) {
      changes.push({ kind: 'before-trigger', object: t.trigger, severity: 'warning', message: `BEFORE row trigger ${t.trigger} (function ${t.function}) assigns NEW.${col} on INSERT but is disabled: it moves to the new table disabled; enabling it there would make inserts fail (routing runs before BEFORE triggers)` });
    } else if (writes && t.events.includes('INSERT')) {
      const msg = `BEFORE row trigger ${t.trigger} (function ${t.function}) assigns NEW.${col}${t.writes?.includes('*') ? ' (all of NEW)' : ''} on INSERT; on a partitioned table Postgres routes a row to its partition before BEFORE triggers run, so a value the trigger fills comes too late: an insert without ${col} fails (23514, no partition for NULL) and one the trigger changes fails ("moving row to another partition during a BEFORE FOR EACH ROW trigger is not supported")`;
      blockers.push({ code: 'before-trigger-writes-partition-column', object: t.trigger, message: `${msg}. Fix: give ${col} a column DEFAULT (applied before routing), e.g. ALTER TABLE ${d.qualified} ALTER COLUMN "${col.replace(/"/g, '""')}" SET DEFAULT now(), and remove the assignment from ${t.function}; or partition by another column`, options: [] });
      changes.push({ kind: 'before-trigger', object: t.trigger, severity: 'blocker', message: msg });
    } else if (writes && t.events.includes('UPDATE')) {
      changes.push({ kind: 'before-trigger', object: t.trigger, severity: 'warning', message: `BEFORE UPDATE trigger ${t.trigger} (function ${t.function}) assigns NEW.${col}: a value in another ${choice.interval} moves the row to another partition (a DELETE and an INSERT)` });
    } else if (t.writes === null) {
      changes.push({ kind: 'trigger-not-read', object: t.trigger, severity: 'warning', message: `BEFORE row trigger ${t.trigger} runs ${t.function} (LANGUAGE ${t.language}), which the plan cannot read: if it fills ${col}, inserts fail after the swap (routing runs before BEFORE triggers); check it` });
    }
  }

  // The key gains the partition column, so the shadow refuses NULL there: the sync writes the shadow in the application's transaction.
  const pc = d.columns.find((x) => x.name === col);
  if (pc && !pc.notNull) {
    changes.push({ kind: 'partition-column-not-null', object: col, severity: 'warning', message: `${col} allows NULL on ${d.qualified} but the new table's key includes it: from the installation of the sync on (not only after the swap), an INSERT or UPDATE writing NULL there fails (23514: no partition holds NULL), in the application's transaction. Make sure the application never writes NULL there, or say so in the table first: ALTER TABLE ${d.qualified} ALTER COLUMN ${spellPart(col)} SET NOT NULL` });
  }
  const updateTriggers = triggers.filter((t) => t.row && t.events.includes('UPDATE')).map((t) => t.trigger);
  changes.push({
    kind: 'update-moves', object: col, severity: updateTriggers.length ? 'warning' : 'info',
    message: `an UPDATE that moves ${col} into another ${choice.interval} moves the row to another partition: Postgres runs it as a DELETE and an INSERT, so row triggers fire for DELETE and INSERT, not UPDATE` +
      (updateTriggers.length ? ` (the UPDATE row triggers ${list(updateTriggers)} do not fire for such an update)` : '') + `; a concurrent UPDATE or DELETE of a moved row fails with 40001 (serialization failure) under READ COMMITTED instead of following it`,
  });

  for (const c of d.columns.filter((x) => x.identity)) {
    changes.push({ kind: 'identity', object: c.name, severity: 'info', message: `identity column ${c.name} (${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'}) gets a new sequence on the new table, set in the swap to continue where the old one stopped; a statement naming the old identity sequence (currval/setval/ALTER SEQUENCE) must use pg_get_serial_sequence(${d.qualified.replace(/'/g, "''")}, '${c.name.replace(/'/g, "''")}') instead` });
  }
  for (const s of d.sequences.filter((x) => x.ownership === 'a')) {
    changes.push({ kind: 'sequence', object: s.name, severity: 'info', message: `sequence ${s.name} keeps feeding ${s.column}: both tables' defaults use it and it is OWNED BY the table the application writes` });
  }
  for (const p of d.publications) {
    changes.push({ kind: 'publication', object: p.name, severity: 'info', message: `publication ${p.name} (${p.implicit ? 'FOR ALL TABLES or TABLES IN SCHEMA' : 'lists the table'}, publish_via_partition_root = ${p.viaPartitionRoot}) publishes the new table after the swap` });
  }
  for (const c of notValidConstraints(d)) {
    changes.push({ kind: 'not-valid-constraint', object: c.name, severity: 'info', message: `${c.definition}: added to the new table in the swap's transaction, still NOT VALID (old rows are not re-checked; every write after the swap is, as on the heap)` });
  }
  return { changes, blockers };
}
