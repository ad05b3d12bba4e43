import { createProfileResolver } from '../../config/profiles';
import { createSecretResolver, TOKEN_REF_PATTERN } from '../../config/secrets';
import { AdminClient } from '../../../activities/lib/admin-client';
import { IDENTIFIER } from '../../../workflows/common/validate';
import { upsertRecords } from '../../memory-layer/storage/pg-store';
import { removeOlderVersions } from '../../memory-layer/storage/older-versions';
import { bool, positionals, requireStr, str } from '../args';
import { CheckFailedError, NotFoundError, UsageError } from '../exit-codes';
import { profileOf } from '../db';
import type { Command } from '../command';

const PAGE = 10_000;
const ROUNDS = 100;

/**
 * `cutover orphans list|backfill --instance ID`: the memory-only records of an instance that came
 * back after an operator forgot it (src/memory-layer/orphans.ts, GET /admin/orphans), listed or
 * written to Postgres through the guarded writes the back-fill uses (pg-store.ts upsertRecords:
 * an older version never over a newer one, a tombstoned id never again; the deletes only it
 * saw through older-versions.ts: a row not newer than the delete goes, tombstoned).
 */
export const orphans: Command = {
  name: 'orphans',
  summary: 'memory-only records of an instance back after being forgotten: list, back-fill into Postgres',
  usage: `usage: cutover orphans list|backfill --instance ID [--target TABLE] [--profile NAME] [--admin-token-ref REF] [--dry-run] [--json]

An operator's forget (cutover forget) gives up what only a silent instance's memory held. When
that instance comes back it reports those records (log line, memory_orphan_records, GET
/admin/orphans). "list" shows them; "backfill" writes them to Postgres with the back-fill's
guards (updated_at, tombstones) and applies the deletes only it saw, then lists what is left.
The instance's admin URL comes from the control plane (cutover_instances).
Exit status: 0 done (nothing left), 1 records left or the instance was not forgotten, 2 usage,
3 unknown instance, 5 unreachable.`,
  options: { instance: { type: 'string' }, target: { type: 'string' }, profile: { type: 'string' }, 'admin-token-ref': { type: 'string' }, 'dry-run': { type: 'boolean' } },
  async run({ io, args }) {
    const [action] = positionals('orphans', args, ['list|backfill']);
    if (action !== 'list' && action !== 'backfill') throw new UsageError(`orphans: the action must be list or backfill, got ${JSON.stringify(action)}`);
    const instanceId = requireStr('orphans', args, 'instance', 'the id of the instance that came back after being forgotten');
    const target = str(args, 'target') ?? 'memory_records';
    if (!IDENTIFIER.test(target)) throw new UsageError(`orphans: --target must be a plain table name, got ${JSON.stringify(target)}`);
    const tokenRef = str(args, 'admin-token-ref') ?? 'default';
    if (!TOKEN_REF_PATTERN.test(tokenRef)) throw new UsageError(`orphans: --admin-token-ref must be a reference name ([a-z][a-z0-9_-]*), never the token; set LICHEN_ADMIN_TOKEN_<REF>`);
    const dryRun = bool(args, 'dry-run');
    const profile = profileOf('orphans', args);
    const token = createSecretResolver().adminToken(tokenRef);
    const profiles = createProfileResolver();
    try {
      const pool = profiles.pool(profile);
      const row = await pool.query<{ admin_url: string | null }>('SELECT admin_url FROM cutover_instances WHERE instance_id = $1 AND target = $2', [instanceId, target]);
      if (!row.rows[0]) throw new NotFoundError(`orphans: no instance ${instanceId} is registered for ${target} (cutover_instances)`);
      if (!row.rows[0].admin_url) throw new NotFoundError(`orphans: instance ${instanceId} registered no admin URL`);
      const admin = new AdminClient({ instanceId, adminUrl: row.rows[0].admin_url }, token);
      let report = await admin.orphans(PAGE);
      if (!report.forgotten) {
        io.result({ instanceId, forgotten: null, total: 0 }, `instance ${instanceId} has not come back from being forgotten: it holds no orphaned records`);
        return 1;
      }
      const done = { written: 0, skippedStale: 0, skippedDeleted: 0, deletesApplied: 0, partitionsCreated: [] as string[] };
      if (action === 'backfill' && !dryRun) {
        for (let round = 0; round < ROUNDS && report.total + report.deleted.length > 0; round++) {
          const client = await pool.connect();
          let progress = 0;
          try {
            const r = await upsertRecords(client, report.records, { table: target });
            done.written += r.written;
            done.skippedStale += r.skippedStale;
            done.skippedDeleted += r.skippedDeleted;
            for (const p of r.partitionsCreated) if (!done.partitionsCreated.includes(p)) done.partitionsCreated.push(p);
            progress += r.written;
            // The delete goes only where the row is not newer than it, tombstoned (older-versions.ts).
            const removed = await removeOlderVersions(client, report.deleted.map((d) => ({ id: d.id, updatedAt: new Date(d.deletedAt) })), { table: target });
            done.deletesApplied += removed.length;
            progress += removed.length;
          } finally {
            client.release();
          }
          io.warn(`orphans: round ${round + 1}: ${done.written} record(s) written, ${done.deletesApplied} delete(s) applied`);
          report = await admin.orphans(PAGE);
          if (progress === 0) break; // what is left the guards refuse (a newer version, a tombstone): listed below
        }
      }
      const left = report.total + report.deleted.length;
      const f = report.forgotten ?? { forgottenAt: '?', forgottenBy: '?', reason: '?' };
      const doc = {
        instanceId,
        action,
        dryRun,
        forgotten: report.forgotten,
        ...done,
        left: { records: report.total, deletes: report.deleted.length, quarantined: report.quarantined },
        records: report.records.slice(0, 100).map((r) => ({ id: r.id, ownerId: r.ownerId, updatedAt: r.updatedAt.toISOString() })),
        deleted: report.deleted.slice(0, 100),
      };
      const head =
        `instance ${instanceId}, forgotten at ${f.forgottenAt} by ${f.forgottenBy} (${f.reason})` +
        (action === 'backfill' && !dryRun ? `: ${done.written} record(s) written, ${done.deletesApplied} delete(s) applied; ` : ': ') +
        `${report.total} record(s) and ${report.deleted.length} delete(s) only its memory holds` +
        (report.quarantined ? `, ${report.quarantined} quarantined (Postgres cannot store them)` : '');
      io.result(doc, [head, ...doc.records.map((r) => `  ${r.id} owner ${r.ownerId} updated ${r.updatedAt}`), ...doc.deleted.map((d) => `  deleted ${d.id} at ${d.deletedAt}`)].join('\n'));
      if (left > 0 && action === 'backfill' && !dryRun) throw new CheckFailedError(`orphans: ${left} left after the back-fill (the guards refused them: see the list)`);
      return left > 0 ? 1 : 0;
    } finally {
      await profiles.close();
    }
  },
};
