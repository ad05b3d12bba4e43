import { qi } from '../../../src/conversion/choice/names';
import type { TableDescriptor } from '../descriptor/types';
import type { Blocker } from './analyse';
import type { ConversionNames } from './names';

/**
 * Publications must never show a subscriber a table it does not have. A publication that names
 * the table (FOR TABLE, with publish_via_partition_root) is moved by the swap and the swap back
 * in their transaction: the shadow and the old table are never in it. FOR ALL TABLES and FOR
 * TABLES IN SCHEMA take in every table as it is created — the shadow and its partitions from the
 * shadow phase, the old table through retention — and Postgres has no way to leave one out
 * (PostgreSQL 14–18), so the subscriber's apply worker would stop on a table it lacks and the slot
 * retain WAL: a blocker naming the publication and the choices, before anything changes.
 */
export function publicationBlockers(d: TableDescriptor, n: Pick<ConversionNames, 'shadow' | 'old'>): Blocker[] {
  return d.publications.filter((p) => p.kind !== 'table').map((p) => {
    const what = p.kind === 'all-tables' ? 'FOR ALL TABLES' : `FOR TABLES IN SCHEMA ${qi(d.schema)}`;
    const pub = qi(p.name);
    return {
      code: 'publication-takes-every-table', object: p.name,
      message: `publication ${p.name} is ${what}: it would publish ${n.shadow} (and each of its partitions${p.viaPartitionRoot ? ' through it' : ''}) from the shadow phase and ${n.old} through retention, tables its subscribers do not have (their apply workers stop, the slot retains WAL). Postgres cannot leave a table out of it. Choose by hand first: `
        + `list the tables instead — ALTER PUBLICATION ${pub} SET TABLE ${d.qualified}, … (PostgreSQL 15+; on 14 DROP PUBLICATION ${pub} and CREATE PUBLICATION ${pub} FOR TABLE ${d.qualified}, … WITH (publish_via_partition_root = true)), then ALTER SUBSCRIPTION … REFRESH PUBLICATION on each subscriber; the swap then moves ${d.qualified} in it and nothing else appears — `
        + `or stop publishing during the conversion (drop the subscription, re-create it after)`,
      options: [],
    };
  });
}
