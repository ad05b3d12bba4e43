import path from 'node:path';
import { migrationsDir } from '../../devenv/paths';
import { checkMigrationSql } from '../../migrations/gates';
import { formatFinding } from '../../migrations/check-cli';
import { applyPlan, loadMigration, markDatabase, MIGRATION_PLANS, type MigrationPlan } from '../../migrations/runner';
import { bool, positionals, str } from '../args';
import { CheckFailedError, UsageError } from '../exit-codes';
import { profileOf, withProfileClient } from '../db';
import type { Command } from '../command';

const PLANS = Object.keys(MIGRATION_PLANS) as MigrationPlan[];

export const migrate: Command = {
  name: 'migrate',
  summary: 'apply a migration plan through the runner, gates enforced first',
  usage: `usage: cutover migrate [--plan ${PLANS.join('|')}] [--profile NAME] [--dir DIR] [--mark-production] [--json]

Runs the migration CI gates on the plan's files and refuses on any finding; then applies them
through the runner (ledger, advisory lock, one transaction per file). The runner refuses a
_dev.sql file on a database marked production or holding records. --mark-production then marks
the database production (cutover_database_marker), so no _dev.sql file is ever applied to it.
Plans: ${PLANS.map((p) => `${p} = ${MIGRATION_PLANS[p].join(' + ')}`).join('; ')}.
Exit status: 0 applied, 1 gate findings or a failed migration, 2 usage, 5 database unreachable.`,
  options: { plan: { type: 'string' }, profile: { type: 'string' }, dir: { type: 'string' }, 'mark-production': { type: 'boolean' } },
  async run({ io, args }) {
    positionals('migrate', args, []);
    const plan = (str(args, 'plan') ?? 'partitioned') as MigrationPlan;
    if (!PLANS.includes(plan)) throw new UsageError(`migrate: --plan must be one of ${PLANS.join(', ')}, got ${JSON.stringify(plan)}`);
    const markProduction = bool(args, 'mark-production');
    if (markProduction && plan === 'dev') throw new UsageError('migrate: --mark-production with --plan dev makes no sense (the dev plan is refused on production)');
    const profile = profileOf('migrate', args);
    const dir = path.resolve(str(args, 'dir') ?? migrationsDir);
    const files = MIGRATION_PLANS[plan].map((n) => loadMigration(n, dir));
    const findings = await checkMigrationSql(files.map((f) => ({ name: path.join(dir, f.name), sql: f.sql })));
    if (findings.length) {
      if (io.json) io.result({ plan, profile, applied: [], findings });
      else io.warn(findings.map(formatFinding).join('\n'));
      throw new CheckFailedError(`migrate: refused, ${findings.length} gate finding(s) in the ${plan} plan; fix them (cutover check-migrations) before applying`);
    }
    const { results, marked } = await withProfileClient(profile, async (c) => {
      const results = await applyPlan(c, plan, { dir, appliedBy: `cutover-cli:${process.env.USER ?? 'unknown'}` });
      const marked = markProduction ? { previous: await markDatabase(c, 'production') } : null;
      return { results, marked };
    });
    io.result(
      { plan, profile, results, markedProduction: markProduction },
      results.map((r) => `${r.outcome.padEnd(9)} ${r.name}${r.ms ? ` (${r.ms} ms)` : ''}`).join('\n') + `\nplan ${plan} on profile ${profile}: done` +
        (marked ? `\ndatabase marked production${marked.previous && marked.previous !== 'production' ? ` (was ${marked.previous})` : marked.previous ? ' (already)' : ''}` : ''),
    );
    return 0;
  },
};
