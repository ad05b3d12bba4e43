import type { Client } from '@temporalio/client';
import { connectClient } from '../client/connect';
import { shutdownTracing } from '../telemetry/tracing';
import { parse, str } from './args';
import type { Command } from './command';
import { EXIT, exitCodeOf, UsageError } from './exit-codes';
import { processIo } from './output';
import { redactText } from '../worker/redact';
import { start } from './commands/start';
import { status } from './commands/status';
import { watch } from './commands/watch';
import { actions } from './commands/act';
import { audit } from './commands/audit';
import { schedule } from './commands/schedule';
import { checkMigrations } from './commands/check-migrations';
import { setup } from './commands/setup';
import { migrate } from './commands/migrate';
import { partitions } from './commands/partitions';
import { doctor } from './commands/doctor';
import { backfill, verify } from './commands/backfill';
import { orphans } from './commands/orphans';
import { plan } from './commands/plan';

/** `cutover`: the operators' and scripts' command line. See src/cli/README.md. */
export const COMMANDS: Command[] = [start, status, watch, ...actions, audit, schedule, checkMigrations, setup, migrate, partitions, doctor, backfill, verify, plan, orphans];

export const USAGE = `usage: cutover <command> [options]

Workflows (Temporal: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, … or --address/--namespace):
${COMMANDS.filter((c) => ['start', 'status', 'watch', 'approve', 'pause', 'resume', 'abort', 'extend', 'forget', 'audit', 'schedule', 'setup'].includes(c.name)).map((c) => `  ${c.name.padEnd(17)}${c.summary}`).join('\n')}

Database, by hand (--profile NAME → LICHEN_DB_PROFILE_<NAME>, default DATABASE_URL):
${COMMANDS.filter((c) => ['check-migrations', 'migrate', 'partitions', 'doctor', 'backfill', 'verify', 'plan', 'orphans'].includes(c.name)).map((c) => `  ${c.name.padEnd(17)}${c.summary}`).join('\n')}

Global options: --json (one JSON document on stdout), --address HOST:PORT, --namespace NS,
--temporal-profile NAME (envconfig profile), -h/--help.
Exit status: 0 ok, 1 findings / failed check / run failed or rolled back, 2 usage error,
3 not found, 4 rejected by the workflow (update validator, run already going), 5 connection error.
"cutover <command> --help" shows a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const wantsJson = argv.includes('--json');
  const io = processIo(wantsJson);
  let connection: Client | undefined;
  try {
    if (!name || name === '-h' || name === '--help' || name === 'help') {
      io.say(USAGE);
      return name ? EXIT.ok : EXIT.usage;
    }
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) throw new UsageError(`unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    if (!cmd.passthrough && (rest.includes('--help') || rest.includes('-h'))) {
      io.say(cmd.usage);
      return EXIT.ok;
    }
    const args = cmd.passthrough ? { positionals: rest, values: {} } : parse(cmd.name, rest, cmd.options);
    const rawArgv = rest.filter((a) => a !== '--json');
    return await cmd.run({
      io,
      args,
      rawArgv,
      client: async () => {
        connection ??= await connectClient({ address: str(args, 'address'), namespace: str(args, 'namespace'), profile: str(args, 'temporal-profile') });
        return connection;
      },
    });
  } catch (err) {
    const code = exitCodeOf(err);
    const message = redactText(err instanceof Error ? err.message : String(err));
    if (io.json && !io.printed()) io.result({ error: { name: err instanceof Error ? err.name : 'Error', message, exitCode: code } });
    io.warn(`cutover: ${message}`);
    if (code === EXIT.failed && process.env.CUTOVER_DEBUG && err instanceof Error && err.stack) io.warn(redactText(err.stack));
    return code;
  } finally {
    await connection?.connection.close().catch(() => undefined);
    await shutdownTracing(); // the StartWorkflow span of `cutover start`, before the process exits
  }
}

/** Runs the command line of this process and sets its exit code (bin/cutover, `tsx src/cli/main.ts`). */
export function run(argv: string[] = process.argv.slice(2)): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`cutover: ${redactText(String((err as Error)?.stack ?? err))}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}

if (require.main === module) run();
