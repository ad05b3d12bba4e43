import { positionals, str } from '../args';
import { IDENTIFIER } from '../../../workflows/common/validate';
import { NotFoundError, UsageError } from '../exit-codes';
import { profileOf, withProfileClient } from '../db';
import { listPartitions, relkind } from '../../shared/pg-catalog';
import type { Command } from '../command';

export const partitions: Command = {
  name: 'partitions',
  summary: 'list the partitions of memory_records with bounds and sizes',
  usage: 'usage: cutover partitions [--profile NAME] [--table TABLE] [--json]\n\nExit status: 0, 3 the table is absent or not partitioned, 5 database unreachable.',
  options: { profile: { type: 'string' }, table: { type: 'string' } },
  async run({ io, args }) {
    positionals('partitions', args, []);
    const table = str(args, 'table') ?? 'memory_records';
    if (!IDENTIFIER.test(table)) throw new UsageError(`partitions: --table must be a plain table name, got ${JSON.stringify(table)}`);
    const profile = profileOf('partitions', args);
    const { kind, parts } = await withProfileClient(profile, async (c) => ({ kind: await relkind(c, table), parts: await listPartitions(c, table) }));
    if (kind !== 'p') throw new NotFoundError(`partitions: ${table} ${kind === null ? 'does not exist' : 'is a heap (non-partitioned) table: see cutover start conversion'} on profile ${profile}`);
    const total = parts.reduce((a, p) => a + p.bytes, 0);
    io.result(
      { table, profile, partitions: parts, totalBytes: total },
      [
        `${'partition'.padEnd(28)} ${'bounds'.padEnd(70)} ${'size'.padStart(10)} ${'~rows'.padStart(10)}`,
        ...parts.map((p) => `${p.name.padEnd(28)} ${p.bounds.padEnd(70)} ${p.size.padStart(10)} ${String(p.estimatedRows).padStart(10)}`),
        `${parts.length} partitions of ${table}`,
      ].join('\n'),
    );
    return 0;
  },
};
