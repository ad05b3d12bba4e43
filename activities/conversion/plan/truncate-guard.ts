import { lit } from '../../../src/conversion/choice/names';
import type { ConversionNames } from './names';

/** SQLSTATE of the refused TRUNCATE (the tool's own class, as LP001 of pending.ts). */
export const TRUNCATE_REFUSED = 'LT001';

/**
 * TRUNCATE fires no row trigger: while the tool's sync is installed (the forward sync before the
 * swap, the reverse sync after it until the old table is dropped) a TRUNCATE of the table the
 * application writes would not reach the other table — before the swap the truncated rows would
 * come back at the swap (the shadow and the log keep them), after it the old table a swap back
 * returns to would still hold them. So the sync goes with a statement-level BEFORE TRUNCATE
 * trigger that refuses it, naming the conversion and what to do. Installed in the same
 * transaction as the sync it guards, removed with it (IF EXISTS: runs whose sync was installed
 * before the guard have none). Like the sync: SECURITY DEFINER, empty search_path, qualified
 * names, the trigger ENABLE ALWAYS (a session_replication_role = replica session is refused too).
 * Its name carries the sync's prefix (`SYNC_TRIGGER_PREFIX`): never taken for a user's trigger.
 */
export interface TruncateGuardSql {
  /** The function and the trigger on `on` (the heap before the swap, the partitioned table after it). */
  install: (on: string) => string[];
  /** The trigger off `on`, then the function; both IF EXISTS. */
  remove: (on: string) => string[];
  /** Only the trigger off `on` (IF EXISTS): the swap moves the guard from the heap to the partitioned table. */
  dropTrigger: (on: string) => string;
}

export function truncateGuardSql(n: ConversionNames): TruncateGuardSql {
  const message = `TRUNCATE of ${n.table} refused: lichen-cutover is converting it to a partitioned table, and its sync between ${n.table} and ${n.shadow} (before the swap) or ${n.old} (after it, until the old table is dropped) does not see a TRUNCATE, so the rows would come back or a rollback would lose them. Abort the conversion (cutover abort <workflow id>; the run registry cutover_runs names it for this target) and TRUNCATE after its rollback, or wait until the run has ended; DELETE works meanwhile.`;
  const fn = `CREATE OR REPLACE FUNCTION ${n.truncateFn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $lichen$
BEGIN
  RAISE EXCEPTION USING ERRCODE = '${TRUNCATE_REFUSED}', MESSAGE = ${lit(message)};
END
$lichen$`;
  const dropTrigger = (on: string) => `DROP TRIGGER IF EXISTS ${n.truncateTrigger} ON ${on}`;
  return {
    // No DROP first (it would take ACCESS EXCLUSIVE): the install is in the sync's transaction, which fails whole when the sync is there already.
    install: (on) => [
      fn,
      `CREATE TRIGGER ${n.truncateTrigger} BEFORE TRUNCATE ON ${on} FOR EACH STATEMENT EXECUTE FUNCTION ${n.truncateFn}()`,
      `ALTER TABLE ${on} ENABLE ALWAYS TRIGGER ${n.truncateTrigger}`,
    ],
    remove: (on) => [dropTrigger(on), `DROP FUNCTION IF EXISTS ${n.truncateFn}()`],
    dropTrigger,
  };
}
