import type { ClientBase } from 'pg';
import { loadModule, parsePlPgSQLSync } from 'libpg-query';
import { SYNC_TRIGGER_PREFIX } from '../descriptor/objects';

/** A user row trigger and the columns of NEW its function assigns (read from the function's source). */
export interface TriggerWrites {
  trigger: string;
  /** schema.name of the trigger's function. */
  function: string;
  language: string;
  before: boolean;
  row: boolean;
  /** tgenabled is not 'D' (a disabled trigger fires for no one, until it is enabled). */
  enabled: boolean;
  events: ('INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE')[];
  /** Columns of NEW assigned; '*' when NEW is assigned as a whole. Null: the source could not be read (not PL/pgSQL). */
  writes: string[] | null;
  /** How `writes` was found: the PL/pgSQL parse tree, or a textual scan when it would not parse. */
  via: 'parse-tree' | 'text' | 'none';
}

type Json = Record<string, unknown>;
const isObj = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Every node of a parse tree under `key` (e.g. PLpgSQL_stmt_assign), anywhere in it. */
function nodes(tree: unknown, key: string, out: Json[] = []): Json[] {
  if (Array.isArray(tree)) for (const x of tree) nodes(x, key, out);
  else if (isObj(tree)) {
    for (const [k, v] of Object.entries(tree)) {
      if (k === key && isObj(v)) out.push(v);
      nodes(v, key, out);
    }
  }
  return out;
}

/** Columns of NEW assigned by a PL/pgSQL function, from its parse tree (`NEW.col := …`, `NEW := …`). */
export function assignedFromParseTree(functionDef: string): string[] {
  const out = new Set<string>();
  for (const f of nodes(parsePlPgSQLSync(functionDef), 'PLpgSQL_function')) {
    const datums = (Array.isArray(f.datums) ? f.datums : []) as Json[];
    const newNo = typeof f.new_varno === 'number' ? f.new_varno : 0;
    // NEW.col := …, NEW := …, and SELECT / EXECUTE / FETCH … INTO NEW or NEW.col.
    const fieldOfNew = (no: unknown) => {
      const d = typeof no === 'number' ? datums[no] : undefined;
      const rf = isObj(d) ? d.PLpgSQL_recfield : undefined;
      if (isObj(rf) && (typeof rf.recparentno === 'number' ? rf.recparentno : 0) === newNo && typeof rf.fieldname === 'string') out.add(rf.fieldname);
    };
    for (const a of nodes(f.action, 'PLpgSQL_stmt_assign')) {
      const no = typeof a.varno === 'number' ? a.varno : 0;
      const d = datums[no];
      if (!isObj(d)) continue;
      if (isObj(d.PLpgSQL_rec) && no === newNo) out.add('*');
      fieldOfNew(no);
    }
    for (const kind of ['PLpgSQL_stmt_execsql', 'PLpgSQL_stmt_dynexecute', 'PLpgSQL_stmt_fetch']) {
      for (const s of nodes(f.action, kind)) {
        const t = s.target;
        if (!isObj(t)) continue;
        if (isObj(t.PLpgSQL_rec) && String(t.PLpgSQL_rec.refname).toLowerCase() === 'new') out.add('*');
        const fields = isObj(t.PLpgSQL_row) && Array.isArray(t.PLpgSQL_row.fields) ? (t.PLpgSQL_row.fields as Json[]) : [];
        for (const fl of fields) fieldOfNew(fl.varno);
      }
    }
  }
  return [...out];
}

/** The textual fallback: `NEW.col :=` or a statement beginning `NEW.col =` (quoted or not). */
export function assignedFromText(source: string, column: string): boolean {
  const col = `(?:"${column.replace(/"/g, '""').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"${/^[a-z_][a-z0-9_$]*$/.test(column) ? `|${column}` : ''})`;
  return new RegExp(`\\bNEW\\s*\\.\\s*${col}\\s*:=`, 'i').test(source) || new RegExp(`(?:^|;|\\bTHEN|\\bELSE|\\bLOOP|\\bBEGIN)\\s*NEW\\s*\\.\\s*${col}\\s*=`, 'im').test(source);
}

/** The user's triggers of a table with what their functions write to NEW. Read-only. */
export async function readTriggerWrites(c: Pick<ClientBase, 'query'>, oid: number, column: string): Promise<TriggerWrites[]> {
  const r = await c.query<{ trigger: string; fn: string; lang: string; def: string | null; tgtype: number; enabled: boolean }>(
    `SELECT t.tgname AS trigger, format('%I.%I', n.nspname, p.proname) AS fn, l.lanname AS lang,
            CASE WHEN p.prokind = 'f' THEN pg_get_functiondef(p.oid) END AS def, t.tgtype::int AS tgtype, t.tgenabled <> 'D' AS enabled
       FROM pg_trigger t
       JOIN pg_proc p ON p.oid = t.tgfoid
       JOIN pg_namespace n ON n.oid = p.pronamespace
       JOIN pg_language l ON l.oid = p.prolang
      WHERE t.tgrelid = $1 AND NOT t.tgisinternal AND t.tgname NOT LIKE $2
      ORDER BY t.tgname`,
    [oid, `${SYNC_TRIGGER_PREFIX}%`],
  );
  const out: TriggerWrites[] = [];
  for (const x of r.rows) {
    const events = (['INSERT', 'DELETE', 'UPDATE', 'TRUNCATE'] as const).filter((_, i) => (x.tgtype & (4 << i)) !== 0);
    const t: TriggerWrites = { trigger: x.trigger, function: x.fn, language: x.lang, before: (x.tgtype & 2) !== 0, row: (x.tgtype & 1) !== 0, enabled: x.enabled, events, writes: null, via: 'none' };
    if (x.lang === 'plpgsql' && x.def) {
      try {
        await loadModule();
        t.writes = assignedFromParseTree(x.def);
        t.via = 'parse-tree';
      } catch {
        t.writes = assignedFromText(x.def, column) ? [column] : [];
        t.via = 'text';
      }
    }
    out.push(t);
  }
  return out;
}
