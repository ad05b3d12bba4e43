/**
 * `tsx src/maintenance/cli.ts schedule [--id partition-maintenance] (--cron "0 3 1 * *" | --every "1 day")
 *    [--task-queue lichen-cutover] [--input '{"retentionMonths":12}'] [--paused]`
 *
 * Creates or updates the partitionMaintenance Temporal Schedule (overlap policy SKIP). The
 * Temporal connection comes from the standard environment configuration (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_PROFILE, …). Prints one JSON line; exit 0 on success, 2 on a
 * usage error, 1 on any other failure.
 */
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { InputError } from '../../workflows/common/validate';
import { upsertMaintenanceSchedule } from './schedule';

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      id: { type: 'string', default: 'partition-maintenance' },
      cron: { type: 'string' },
      every: { type: 'string' },
      'task-queue': { type: 'string', default: process.env.LICHEN_TASK_QUEUE ?? 'lichen-cutover' },
      input: { type: 'string', default: '{}' },
      paused: { type: 'boolean', default: false },
    },
  });
  if (positionals[0] !== 'schedule' || !!values.cron === !!values.every) {
    process.stderr.write('usage: maintenance schedule (--cron EXPR | --every DURATION) [--id ID] [--task-queue Q] [--input JSON] [--paused]\n');
    return 2;
  }
  let input: unknown;
  try {
    input = JSON.parse(values.input!);
  } catch {
    process.stderr.write('--input: must be one JSON object\n');
    return 2;
  }
  const config = loadClientConnectConfig();
  const connection = await Connection.connect(config.connectionOptions as never);
  try {
    const client = new Client({ connection, namespace: config.namespace ?? 'default' });
    const outcome = await upsertMaintenanceSchedule(client, {
      scheduleId: values.id!, cron: values.cron, interval: values.every, input: input as never, taskQueue: values['task-queue']!, paused: values.paused,
    });
    process.stdout.write(`${JSON.stringify({ scheduleId: values.id, outcome })}\n`);
    return 0;
  } catch (err) {
    if (err instanceof InputError) {
      process.stderr.write(`--input: ${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    await connection.close();
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
