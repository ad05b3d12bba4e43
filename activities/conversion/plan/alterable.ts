import { spellPart } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import type { Blocker } from './analyse';

/**
 * The worker's role must be able to alter what the run alters: the table (the shadow is given its
 * owner, the sync's trigger, the renames), its views (replaced in the swap), its publications
 * `FOR TABLE` and serial sequences (moved in the swap), the tables whose foreign keys the swap
 * drops (when chosen), and CREATE in the schema. Otherwise the run fails with 42501 at its first
 * DDL — or, for a view or a foreign key, at the swap after the whole copy. A plan blocker naming
 * each object, its owner and the fix, before anything runs.
 */
export function alterBlockers(d: TableDescriptor, choice: ConversionChoice): Blocker[] {
  const role = d.rowSecurity.reader?.role;
  const cannot = (d.notAlterable ?? []).filter((x) => x.via === null || choice.options.incomingForeignKeys === 'drop');
  if (!role || !cannot.length) return [];
  const what = cannot.map((x) => x.what === 'schema'
    ? `schema ${x.object} (no CREATE: the shadow is created there)`
    : `${x.what} ${x.object} (owner ${x.owner}${x.via ? `; its foreign key ${x.via} is dropped at the swap` : ''})`);
  const owners = [...new Set(cannot.filter((x) => x.what !== 'schema').map((x) => x.owner))];
  const fixes = [
    ...owners.map((o) => `GRANT ${spellPart(o)} TO ${spellPart(role)}`),
    ...cannot.filter((x) => x.what === 'schema').map((x) => `GRANT CREATE ON SCHEMA ${x.object} TO ${spellPart(role)}`),
  ];
  return [{
    code: 'worker-cannot-alter', object: role,
    message: `role ${role} (the worker's) cannot alter what the conversion alters: ${what.join(', ')}; the run would fail with 42501 at its first statement on it (a view's or a foreign key's only at the swap, after the whole copy). Fix by hand first: ${fixes.join('; ')} (or run the worker as a role that owns them)`,
    options: [],
  }];
}
