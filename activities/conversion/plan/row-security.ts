import { qi } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';
import type { Blocker } from './analyse';

/**
 * The worker sees every row or refuses. Its sessions that read the table's rows (the copy,
 * parity, the post-swap and retention checks, the rollbacks' keep-or-drop check) run with
 * row_security = off, so a policy that would hide a row raises an error instead of filtering it;
 * a role that policies apply to is refused here, at the plan, before anything changes. Policies
 * apply to a role that is not superuser, has no BYPASSRLS, and does not own the table — or owns
 * it while the table has FORCE ROW LEVEL SECURITY.
 */
export function rowSecurityBlockers(d: TableDescriptor): Blocker[] {
  const rs = d.rowSecurity;
  const r = rs.reader;
  if (!rs.enabled || !r || r.superuser || r.bypassRls || (r.owner && !rs.forced)) return [];
  const why = r.owner
    ? `role ${r.role} owns ${d.qualified}, but FORCE ROW LEVEL SECURITY applies its ${d.policies.length} polic${d.policies.length === 1 ? 'y' : 'ies'} to the owner too`
    : `role ${r.role} is not the owner of ${d.qualified} (${d.owner}), not superuser and has no BYPASSRLS, so the table's ${d.policies.length} polic${d.policies.length === 1 ? 'y applies' : 'ies apply'} to it`;
  const fixes = [
    { choice: 'BYPASSRLS', effect: `ALTER ROLE ${qi(r.role)} BYPASSRLS (by a superuser): the conversion's role reads and writes every row; the policies still apply to everyone else` },
    r.owner
      ? { choice: 'NO FORCE', effect: `ALTER TABLE ${d.qualified} NO FORCE ROW LEVEL SECURITY for the conversion (the owner then bypasses the policies; other roles are unaffected), and FORCE it again after` }
      : { choice: 'run as the owner', effect: `run the worker's connection profile as ${qi(d.owner)} (or a member of it), with ${d.qualified} not FORCE ROW LEVEL SECURITY` },
  ];
  return [{
    code: 'row-security-hides-rows', object: r.role,
    message: `row level security on ${d.qualified} would hide rows from the conversion: ${why}; the copy would copy only the rows the policies show it and parity would compare those, so the others would be lost at the swap. Fix by hand first: ${fixes.map((f) => f.effect).join('; or ')}`,
    options: [],
  }];
}
