import { qi } from '../../../src/conversion/choice/names';
import type { ConstraintDesc, TableDescriptor } from '../descriptor/types';
import type { Blocker } from './analyse';

/**
 * NOT VALID constraints (checks, foreign keys and, on 18, NOT NULL, added without checking the
 * rows already there). The shadow cannot carry them from the start: every copied row is a new
 * insert there, so an old row that violates one would fail every batch of the copy for ever.
 * They are added to the new table inside the swap's transaction, still NOT VALID (catalog only,
 * no scan): old rows are not re-checked, every write after the swap is, as on the heap.
 */
export function notValidConstraints(d: TableDescriptor): ConstraintDesc[] {
  // A self-referencing foreign key is not carried at all (as in shadow-ddl.ts).
  const selfFks = new Set(d.incomingForeignKeys.filter((f) => f.fromTable === `${d.schema}.${d.name}` || f.fromTable === d.name).map((f) => f.name));
  return d.constraints.filter((c) => !c.validated && (c.type === 'c' || (c.type === 'f' && !selfFks.has(c.name))));
}

/** The swap's statements adding them to `table` (pg_get_constraintdef renders them with NOT VALID). */
export function addNotValidSql(d: TableDescriptor, table: string): string[] {
  const notNulls = d.columns.filter((c) => c.notNullNotValid !== null).map((c) => `ALTER TABLE ${table} ADD CONSTRAINT ${qi(c.notNullNotValid!)} NOT NULL ${qi(c.name)} NOT VALID`);
  return [...notNulls, ...notValidConstraints(d).flatMap((c) => [
    `ALTER TABLE ${table} ADD CONSTRAINT ${qi(c.name)} ${/\bNOT VALID$/.test(c.definition) ? c.definition : `${c.definition} NOT VALID`}`,
    ...(c.comment !== null ? [`COMMENT ON CONSTRAINT ${qi(c.name)} ON ${table} IS '${c.comment.replace(/'/g, "''")}'`] : []),
  ])];
}

/** PostgreSQL before 18 cannot add a NOT VALID foreign key to a partitioned table: a blocker naming it and the fix. */
export function kindBlockers(d: TableDescriptor): Blocker[] {
  if (d.serverVersionNum >= 180000) return [];
  return notValidConstraints(d).filter((c) => c.type === 'f').map((c) => ({
    code: 'not-valid-foreign-key', object: c.name, options: [],
    message: `foreign key ${c.name} (${c.definition}) is NOT VALID; PostgreSQL ${Math.floor(d.serverVersionNum / 10000)} cannot add a NOT VALID foreign key to a partitioned table (18 can): ALTER TABLE ${d.qualified} VALIDATE CONSTRAINT ${qi(c.name)} first (fix or delete the rows it reports), or drop it`,
  }));
}
