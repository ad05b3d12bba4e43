#!/usr/bin/env node
/**
 * `npm run dev`: brings up the development environment — PostgreSQL (embedded, or
 * DATABASE_URL) and the Temporal dev server with its Web UI — prints where they are, and stops
 * both cleanly on Ctrl-C.
 *
 *   npm run dev [-- --persist <temporal.sqlite>] [--no-ui] [--migrate partitioned|heap]
 */
import { Client } from 'pg';
import { startPostgres, redactUrl, type RunningPostgres } from './postgres';
import { startTemporal, type RunningTemporal } from './temporal';
import { formatSetupError, SetupError, startAllOrNothing } from './setup-error';
import { applyPlan, MIGRATION_PLANS, type MigrationPlan } from '../migrations/runner';

interface DevArgs {
  persist?: string;
  ui: boolean;
  migrate?: MigrationPlan;
}

function parseArgs(argv: string[]): DevArgs {
  const args: DevArgs = { ui: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--persist') args.persist = argv[++i];
    else if (a === '--no-ui') args.ui = false;
    else if (a === '--migrate') {
      const plan = argv[++i];
      if (!(plan in MIGRATION_PLANS)) throw new Error(`--migrate: must be one of ${Object.keys(MIGRATION_PLANS).join(', ')}`);
      args.migrate = plan as MigrationPlan;
    } else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run dev [-- --persist FILE] [--no-ui] [--migrate PLAN]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}; see --help`);
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  process.stdout.write('starting PostgreSQL and the Temporal dev server…\n');
  const [pg, temporal] = await startAllOrNothing<[RunningPostgres, RunningTemporal]>([
    { service: 'the embedded PostgreSQL', start: () => startPostgres({ keepData: false }), stop: (p) => p.stop() },
    { service: 'the Temporal dev server', start: () => startTemporal({ ui: args.ui, dbFilename: args.persist }), stop: (t) => t.stop() },
  ]);
  if (args.migrate) {
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    const results = await applyPlan(c, args.migrate);
    await c.end();
    for (const r of results) process.stdout.write(`migration ${r.name}: ${r.outcome}\n`);
  }
  process.stdout.write(
    [
      '',
      `Postgres URL:      ${pg.url}`,
      `                   (${pg.embedded ? 'embedded, data in ' + pg.dataDir : 'DATABASE_URL ' + redactUrl(pg.url)})`,
      `Temporal address:  ${temporal.address}  (namespace ${temporal.namespace}; CLI found via ${temporal.cliRoute}: ${temporal.cliPath})`,
      `Temporal UI:       ${temporal.uiUrl ?? '(disabled)'}`,
      '',
      'For a worker or the CLI in another shell:',
      `  export DATABASE_URL='${pg.url}' TEMPORAL_ADDRESS=${temporal.address}`,
      '',
      'Ctrl-C stops both.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the Temporal dev server and PostgreSQL…\n`);
    await Promise.allSettled([temporal.stop(), pg.stop()]);
    process.stdout.write('stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await new Promise(() => undefined); // run until a signal
}

main().catch((err) => {
  if (err instanceof SetupError) process.stderr.write(formatSetupError(err, 'npm run dev'));
  else process.stderr.write(`npm run dev failed: ${(err as Error).message}\n`);
  process.exit(1);
});
