import type { ClientBase } from 'pg';
import { escapeIdentifier } from 'pg';
import { positionals } from '../args';
import { profileOf, withProfileClient } from '../db';
import { countRows, listPartitions, relkind } from '../../shared/pg-catalog';
import { getControl } from '../../memory-layer/control-plane';
import type { Command } from '../command';

export interface DoctorFinding {
  check: string;
  ok: boolean;
  detail: string;
  /** What to run or do when not ok. */
  fix?: string;
}

const TABLE = 'memory_records';

/** The runbook's troubleshooting checks, each with its fix. Read-only. */
export async function runDoctor(c: ClientBase): Promise<DoctorFinding[]> {
  const out: DoctorFinding[] = [];
  const kind = await relkind(c, TABLE);
  if (kind === null) {
    out.push({ check: 'table state', ok: false, detail: `${TABLE} does not exist`, fix: 'cutover migrate --plan partitioned (or start a production cutover: it creates the table)' });
    return out;
  }
  out.push(await markerFinding(c));
  if (kind !== 'p') {
    out.push({ check: 'table state', ok: false, detail: `${TABLE} is a heap (non-partitioned) table`, fix: 'the runbook\'s "Heap-to-Partitioned Conversion Procedure": cutover start conversion' });
    return out;
  }
  out.push({ check: 'table state', ok: true, detail: `${TABLE} is partitioned by created_at` });

  const helper = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_proc WHERE proname = 'create_monthly_partition'`);
  out.push(helper.rows[0].n !== '0'
    ? { check: 'partition helper', ok: true, detail: 'create_monthly_partition() exists' }
    : { check: 'partition helper', ok: false, detail: 'create_monthly_partition() is missing', fix: 'cutover migrate --plan partitioned (002_partitions.sql creates it)' });

  const months = await c.query<{ cur: string; next: string; cur_name: string; next_name: string; cur_ok: string | null; next_ok: string | null }>(
    `SELECT to_char(now(), 'YYYY-MM') AS cur, to_char(now() + interval '1 month', 'YYYY-MM') AS next,
            'memory_records_' || to_char(now(), 'YYYY_MM') AS cur_name,
            'memory_records_' || to_char(now() + interval '1 month', 'YYYY_MM') AS next_name,
            to_regclass('memory_records_' || to_char(now(), 'YYYY_MM'))::text AS cur_ok,
            to_regclass('memory_records_' || to_char(now() + interval '1 month', 'YYYY_MM'))::text AS next_ok`,
  );
  const m = months.rows[0];
  out.push(m.cur_ok
    ? { check: 'partition for now', ok: true, detail: `${m.cur_name} holds ${m.cur}` }
    : { check: 'partition for now', ok: false, detail: `no partition for ${m.cur}: inserts fail with "no partition of relation found for row"`, fix: 'SELECT create_monthly_partition(NOW());' });
  out.push(m.next_ok
    ? { check: 'partition for next month', ok: true, detail: `${m.next_name} holds ${m.next}` }
    : { check: 'partition for next month', ok: false, detail: `no partition for ${m.next} yet`, fix: `SELECT create_monthly_partition((NOW() + interval '1 month')::date); (or schedule partition maintenance: cutover schedule)` });

  const parts = await listPartitions(c, TABLE);
  for (const d of parts.filter((p) => p.isDefault)) {
    const n = await countRows(c, d.name);
    out.push(n === 0
      ? { check: 'default partition', ok: true, detail: `${d.name} is empty` }
      : { check: 'default partition', ok: false, detail: `${d.name} holds ${n} rows: the partitions of their months cannot be created while it does`, fix: `create the months' partitions after moving the rows out: BEGIN; CREATE TEMP TABLE moved AS DELETE FROM ${d.name} RETURNING *; SELECT create_monthly_partition(m) FROM (SELECT DISTINCT date_trunc('month', created_at)::date AS m FROM moved) x; INSERT INTO ${TABLE} SELECT * FROM moved; COMMIT;` });
  }

  const invalid = await c.query<{ index: string; tbl: string }>(
    `SELECT ic.relname AS index, tc.relname AS tbl
       FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class tc ON tc.oid = x.indrelid
      WHERE (tc.relname = $1 OR tc.relname LIKE $1 || '\\_%') AND (NOT x.indisvalid OR NOT x.indisready)
      ORDER BY 1`,
    [TABLE],
  );
  out.push(invalid.rows.length === 0
    ? { check: 'index health', ok: true, detail: 'all indexes valid' }
    : { check: 'index health', ok: false, detail: `invalid indexes: ${invalid.rows.map((r) => `${r.index} on ${r.tbl}`).join(', ')} (an interrupted CREATE INDEX CONCURRENTLY)`, fix: invalid.rows.map((r) => `REINDEX INDEX CONCURRENTLY ${escapeIdentifier(r.index)};`).join(' ') });

  // No control-plane tables yet reads as no control row.
  const ctl = await getControl(c, TABLE).catch(() => null);
  out.push({ check: 'persistence mode (control plane)', ok: true, detail: ctl ? `${ctl.mode.persistence}${ctl.mode.persistence === 'dual-write' ? `, ${ctl.mode.primary} primary` : ''} (epoch ${ctl.epoch})` : 'no control row: the apps run on their boot environment (PERSISTENCE …)' });
  return out;
}

/**
 * A database holding records that is not marked (cutover_database_marker): the runner's guard
 * against _dev.sql files then rests on the row check alone. Marked staging or development is a
 * stated choice and passes.
 */
async function markerFinding(c: ClientBase): Promise<DoctorFinding> {
  const r = await c.query<{ env: string | null; has_rows: boolean }>(
    `SELECT CASE WHEN to_regclass('cutover_database_marker') IS NULL THEN NULL
                 ELSE (SELECT environment FROM cutover_database_marker LIMIT 1) END AS env,
            EXISTS (SELECT 1 FROM ${TABLE} LIMIT 1) AS has_rows`,
  );
  const { env, has_rows: hasRows } = r.rows[0];
  if (env) return { check: 'database marker', ok: true, detail: `marked ${env}` };
  if (!hasRows) return { check: 'database marker', ok: true, detail: `not marked; ${TABLE} is empty` };
  return {
    check: 'database marker',
    ok: false,
    detail: `not marked, and ${TABLE} holds records: mark a production database so no destructive development migration can ever run on it`,
    fix: 'cutover migrate --mark-production (or, for staging: INSERT INTO cutover_database_marker (environment) VALUES (\'staging\'))',
  };
}

export const doctor: Command = {
  name: 'doctor',
  summary: "the runbook's troubleshooting checks, each finding with its fix",
  usage: `usage: cutover doctor [--profile NAME] [--json]

Checks: table state (partitioned, heap or absent), database marker (a database holding records
must be marked), partition helper, partition for now and for
next month, default-partition rows, index health (invalid indexes), the persistence mode.
Exit status: 0 healthy, 1 findings, 5 database unreachable.`,
  options: { profile: { type: 'string' } },
  async run({ io, args }) {
    positionals('doctor', args, []);
    const profile = profileOf('doctor', args);
    const findings = await withProfileClient(profile, runDoctor);
    const bad = findings.filter((f) => !f.ok);
    io.result(
      { profile, ok: bad.length === 0, findings },
      findings.map((f) => `${f.ok ? 'ok  ' : 'FAIL'} ${f.check}: ${f.detail}${f.fix ? `\n     fix: ${f.fix}` : ''}`).join('\n') + `\n${bad.length ? `${bad.length} finding(s)` : 'no findings'}`,
    );
    return bad.length ? 1 : 0;
  },
};
