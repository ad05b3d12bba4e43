import path from 'node:path';
import { DEV_ONLY_SUFFIX, PARTITION_HELPER, SAFE_MIGRATION_BANNER, SAFE_MIGRATION_FILE, type GateFinding, type GateRule } from './types';
import type { Fact, Origin } from './facts';
import { DUMMY_IDENT } from './dynamic-sql';

// ---------------------------------------------------------------------------------------------
// Gates: turn what the analysis saw in one file into findings
// ---------------------------------------------------------------------------------------------

const FIX_DESTRUCTIVE =
  `move destructive statements to a file ending in ${DEV_ONLY_SUFFIX} (never deployed to production), ` +
  'or make the change non-destructive: ALTER TABLE … DETACH PARTITION (and archive) instead of DROP TABLE, ' +
  'a rename instead of a drop, a batched DELETE with an approval instead of TRUNCATE';
const FIX_PARSE = 'correct the SQL so that PostgreSQL can parse it (the gate uses PostgreSQL 18\'s own parser); nothing else in the file can be checked until then';

export function gateFile(file: string, sql: string, facts: Fact[]): GateFinding[] {
  const base = path.basename(file);
  const out: GateFinding[] = [];
  const seen = new Set<string>();
  const add = (line: number, rule: GateRule, message: string, fix: string) => {
    // Several reconstructions of one dynamic statement can say the same thing: report it once.
    const key = `${line}\0${rule}\0${message}`;
    if (!seen.has(key)) out.push({ file, line, rule, message, fix });
    seen.add(key);
  };
  const parsed = !facts.some((f) => f.type === 'parse-error' && f.fatal);

  for (const f of facts) {
    if (f.type === 'parse-error') add(f.line, 'parse-error', f.message, FIX_PARSE);
  }
  if (!base.endsWith(DEV_ONLY_SUFFIX)) {
    for (const f of facts) {
      if (f.type !== 'destructive') continue;
      add(f.line, 'destructive-sql', `${f.what}${describeTarget(f.target)}${describeOrigin(f.origin)} is destructive and this file may run in production`, FIX_DESTRUCTIVE);
    }
  }
  if (base === SAFE_MIGRATION_FILE) {
    if (!sql.includes(SAFE_MIGRATION_BANNER)) {
      add(1, 'safe-banner', `${SAFE_MIGRATION_FILE} lacks the "${SAFE_MIGRATION_BANNER}" banner`,
        `add a header comment "-- ${SAFE_MIGRATION_BANNER}" once the file is non-destructive and idempotent; a migration that is not safe belongs in a file ending in ${DEV_ONLY_SUFFIX}`);
    }
    if (parsed && !facts.some((f) => f.type === 'function' && f.name === PARTITION_HELPER && f.origin.kind === 'static')) {
      add(1, 'partition-helper', `${SAFE_MIGRATION_FILE} does not define the helper function ${PARTITION_HELPER}`,
        `define it in this file: CREATE OR REPLACE FUNCTION ${PARTITION_HELPER}(month date, parent text DEFAULT 'memory_records') RETURNS text LANGUAGE plpgsql …, creating the month's partition with CREATE TABLE IF NOT EXISTS … PARTITION OF …`);
    }
    for (const f of facts) {
      if (f.type !== 'create' || f.ifNotExists) continue;
      add(f.line, 'if-not-exists', `${f.what}${describeTarget(f.target)}${describeOrigin(f.origin)} lacks IF NOT EXISTS, so re-running ${SAFE_MIGRATION_FILE} fails`,
        `add IF NOT EXISTS (${f.what} IF NOT EXISTS …${f.what.endsWith('INDEX') ? '; an index needs a name for that' : ''}) so the safe migration stays idempotent`);
    }
  }
  return out;
}

/** Object names; parts only known at run time show as `<run-time value>`. */
function describeTarget(target: string | undefined): string {
  return target ? ` ${target.split(DUMMY_IDENT).join('<run-time value>')}` : '';
}

function describeOrigin(o: Origin): string {
  const where = o.where ? ` in ${o.where}` : '';
  if (o.kind === 'static') return where;
  if (o.kind === 'dynamic') return ` (dynamic SQL run by ${o.via}${where})`;
  if (o.kind === 'foreign-body') return ` (keywords in a ${o.via} body${where}, which this gate cannot parse)`;
  return ` (keywords in the literal text of dynamic SQL run by ${o.via}${where}; the text does not parse as SQL on its own)`;
}
