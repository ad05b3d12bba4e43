import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../../activities';
import { getControl } from '../../memory-layer/control-plane';
import { resolveInstances } from '../../../activities/production/instances';
import { createProfileResolver, type ProfileResolver } from '../../config/profiles';
import { createSecretResolver, TOKEN_REF_PATTERN } from '../../config/secrets';
import { AdminClient, type InstanceRef } from '../../../activities/lib/admin-client';
import type { MonthParity } from '../../../activities/production/verify';
import type { BackfillChunkInput, BackfillChunkResult } from '../../../activities/production/backfill';
import { bool, num, positionals, str, type Parsed } from '../args';
import { CheckFailedError, UsageError } from '../exit-codes';
import { profileOf } from '../db';
import { formatDuration } from '../render';
import type { Command, CommandContext } from '../command';
import type { Io } from '../output';

/**
 * The runbook's backfill script and its verification, run by hand: the same activity code the
 * workflow runs (activities/production/backfill.ts and verify.ts), executed here in an
 * activity context of its own. For operators who need a step outside a workflow run.
 */
const TARGET = 'memory_records';

const SHARED_OPTIONS = {
  apps: { type: 'string' },
  'admin-token-ref': { type: 'string' },
  profile: { type: 'string' },
} as const;

interface Setup {
  profile: string;
  tokenRef: string;
  profiles: ProfileResolver;
  acts: ReturnType<typeof createActivities>;
  instances: InstanceRef[];
}

async function prepare(cmd: string, args: Parsed, io: Io): Promise<Setup> {
  positionals(cmd, args, []);
  const profile = profileOf(cmd, args);
  const tokenRef = str(args, 'admin-token-ref') ?? 'default';
  if (!TOKEN_REF_PATTERN.test(tokenRef)) throw new UsageError(`${cmd}: --admin-token-ref must be a reference name ([a-z][a-z0-9_-]*), never the token; set LICHEN_ADMIN_TOKEN_<REF>`);
  const secrets = createSecretResolver();
  const token = secrets.adminToken(tokenRef); // fails early, naming the variable to set
  const urls = (str(args, 'apps') ?? '').split(',').map((u) => u.trim()).filter(Boolean);
  for (const u of urls) if (!/^https?:\/\/[^\s]+$/.test(u)) throw new UsageError(`${cmd}: --apps must be comma-separated http(s) URLs, got ${JSON.stringify(u)}`);
  const profiles = createProfileResolver();
  try {
    let instances: InstanceRef[];
    if (urls.length) {
      // The instance ids come from the instances themselves (admin/stats).
      instances = await Promise.all(urls.map(async (u) => ({ instanceId: (await new AdminClient({ instanceId: u, adminUrl: u }, token).stats()).instanceId, adminUrl: u })));
    } else {
      instances = await resolveInstances(profiles.pool(profile), TARGET, { discovery: 'control-plane', endpoints: [], adminTokenRef: tokenRef });
      if (!instances.length) throw new UsageError(`${cmd}: no live instance registered for ${TARGET}; pass --apps URL,URL`);
    }
    io.warn(`${cmd}: ${instances.length} instance(s): ${instances.map((i) => `${i.instanceId} (${i.adminUrl})`).join(', ')}; profile ${profile}`);
    return { profile, tokenRef, profiles, acts: createActivities({ profiles, secrets }), instances };
  } catch (err) {
    await profiles.close();
    throw err;
  }
}

/** Runs one activity function in an activity context of its own (heartbeats go nowhere). */
function runActivity<A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...a: A): Promise<R> {
  return new MockActivityEnvironment({ activityType: fn.name }).run(fn, ...a);
}

async function warnUnlessDualWrite(s: Setup, io: Io): Promise<void> {
  const mode = (await getControl(s.profiles.pool(s.profile), TARGET).catch(() => null))?.mode.persistence;
  if (mode !== 'dual-write') io.warn(`warning: the persistence mode is ${mode ?? 'unset (boot defaults)'}, not dual-write: writes made during the backfill reach memory only (runbook step 1 enables dual-write first)`);
}

export const backfill: Command = {
  name: 'backfill',
  summary: "the runbook's backfill script: memory → Postgres through the admin export",
  usage: `usage: cutover backfill [--apps URL,URL] [--admin-token-ref REF] [--profile NAME] [--batch-size N] [--max-rows-per-second N] [--dry-run] [--json]

Copies every instance's records month by month into Postgres (upserts guarded by updated_at and
tombstones; missing partitions created). Without --apps, the live instances registered in the
control plane. --dry-run reads and counts, writes nothing (the runbook's BACKFILL_DRY_RUN).
Exit status: 0 done, 1 failed, 2 usage, 5 unreachable.`,
  options: { ...SHARED_OPTIONS, 'batch-size': { type: 'string' }, 'max-rows-per-second': { type: 'string' }, 'dry-run': { type: 'boolean' } },
  async run({ io, args }: CommandContext) {
    const batchSize = num('backfill', args, 'batch-size', { min: 10, max: 20000, integer: true }) ?? 1000;
    const maxRowsPerSecond = num('backfill', args, 'max-rows-per-second', { min: 0, integer: true }) ?? 0;
    const dryRun = bool(args, 'dry-run');
    const s = await prepare('backfill', args, io);
    try {
      if (!dryRun) await warnUnlessDualWrite(s, io);
      const plan = await runActivity(s.acts.planBackfill, { apps: { adminTokenRef: s.tokenRef }, instances: s.instances });
      const total = plan.units.reduce((a, u) => a + u.count, 0);
      const t0 = Date.now();
      const sum = { rows: 0, written: 0, skippedStale: 0, skippedDeleted: 0, partitionsCreated: [] as string[] };
      for (const unit of plan.units) {
        let cursor: BackfillChunkInput['cursor'] = null;
        do {
          const r: BackfillChunkResult = await runActivity(s.acts.backfillChunk, {
            connectionProfile: s.profile, table: TARGET, apps: { adminTokenRef: s.tokenRef }, unit, cursor,
            batchSize, chunkRows: batchSize * 5, maxRowsPerSecond, throttleWriteP99Ms: 250, dryRun,
          });
          sum.rows += r.rows;
          sum.written += r.written;
          sum.skippedStale += r.skippedStale;
          sum.skippedDeleted += r.skippedDeleted;
          for (const p of r.partitionsCreated) if (!sum.partitionsCreated.includes(p)) sum.partitionsCreated.push(p);
          cursor = r.nextCursor;
          const secs = (Date.now() - t0) / 1000;
          const rate = sum.rows / Math.max(secs, 0.001);
          io.warn(`${unit.month} ${unit.instance.instanceId}: ${sum.rows}/${total} rows, ${Math.round(rate)} rows/s, ETA ${formatDuration(rate > 0 ? Math.max(0, total - sum.rows) / rate : 0)}`);
        } while (cursor);
      }
      const seconds = Math.round((Date.now() - t0) / 100) / 10;
      const doc = { dryRun, units: plan.units.length, months: plan.months.map((m) => m.month), ...sum, seconds, rowsPerSecond: Math.round(sum.rows / Math.max(seconds, 0.1)) };
      io.result(doc, `${dryRun ? 'dry run: ' : ''}${sum.rows} rows read, ${sum.written} written, ${sum.skippedStale} stale and ${sum.skippedDeleted} deleted skipped, ${doc.rowsPerSecond} rows/s; partitions created: ${sum.partitionsCreated.join(', ') || 'none'}`);
      return 0;
    } finally {
      await s.profiles.close();
    }
  },
};

export const verify: Command = {
  name: 'verify',
  summary: 'parity per month between the memory stores and Postgres (count and checksum)',
  usage: `usage: cutover verify [--apps URL,URL] [--admin-token-ref REF] [--profile NAME] [--repair] [--grace-ms N] [--json]

Count and checksum of every month, memory stores against Postgres; a mismatch is compared row
by row to tell drift from writes in flight. --repair upserts missing or stale rows into Postgres
and verifies again. Rows only Postgres has are kept (they may be writes Postgres acknowledged as
primary), except rows a memory store remembers deleting: --repair removes those. Differences newer
than --grace-ms (default 5000) count as writes in flight, not drift; 0 when writes are stopped.
Exit status: 0 every month matches, 1 drift, 2 usage, 5 unreachable.`,
  options: { ...SHARED_OPTIONS, repair: { type: 'boolean' }, 'grace-ms': { type: 'string' } },
  async run({ io, args }: CommandContext) {
    const repair = bool(args, 'repair');
    const graceMs = num('verify', args, 'grace-ms', { min: 0, max: 600_000, integer: true }) ?? 5000;
    const s = await prepare('verify', args, io);
    try {
      const plan = await runActivity(s.acts.planBackfill, { apps: { adminTokenRef: s.tokenRef }, instances: s.instances });
      const results: MonthParity[] = [];
      for (const range of plan.months) {
        const once = () => runActivity(s.acts.verifyMonth, { connectionProfile: s.profile, table: TARGET, apps: { adminTokenRef: s.tokenRef }, instances: s.instances, range, repair, deleteExtras: false, graceMs });
        let p = await once();
        if (repair && p.repaired > 0) p = { ...(await once()), repaired: p.repaired };
        results.push(p);
        io.warn(`${p.month}: ${p.match ? 'match' : 'DRIFT'} — memory ${p.memory.count}, postgres ${p.postgres.count}${p.match ? '' : ` (missing ${p.drift.missing}, stale ${p.drift.stale}, extra ${p.drift.extra})`}${p.repaired ? `, repaired ${p.repaired}` : ''}${p.inFlight ? `, ${p.inFlight} in flight` : ''}`);
      }
      const drifting = results.filter((p) => !p.match);
      io.result({ ok: drifting.length === 0, months: results }, drifting.length ? `${drifting.length} month(s) drift: ${drifting.map((d) => d.month).join(', ')}` : `${results.length} month(s) verified, all match`);
      if (drifting.length && io.json) return 1;
      if (drifting.length) throw new CheckFailedError(`verify: parity fails for ${drifting.map((d) => d.month).join(', ')}; run cutover backfill, or verify --repair`);
      return 0;
    } finally {
      await s.profiles.close();
    }
  },
};
