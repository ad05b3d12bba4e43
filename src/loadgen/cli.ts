import fs from 'node:fs';
import { parseLoadgenArgs, CliUsageError, USAGE, type LoadgenCliOptions } from './cli-args';
import { startLoad, type LoadStats } from './generator';
import { OpLog } from './oplog';
import { checkOracle, formatVerdict, instancesReader, postgresReader, verdictPasses, type StoreReader } from './oracle';
import { seedRecords } from './seed';
import { sqlLoadMain, SQL_USAGE } from './sql/cli';
import { TableNameError } from '../conversion/choice/names';
import { createProfileResolver, UnknownProfileError } from '../config/profiles';

/**
 * `npm run loadgen -- --url http://127.0.0.1:8080[,url2] --rate 200 --duration 30s
 *  [--owners 50] [--log out.json] [--check-postgres <profile or url>] [--check-instances]`
 *
 * Prints one stats line a second, the final stats, and each requested verdict. Ctrl-C stops the
 * load gracefully (in-flight requests finish, checks still run); a second Ctrl-C exits at once.
 */
export function formatStats(s: LoadStats): string {
  const failures = Object.entries(s.byStatus)
    .filter(([k]) => !['200', '201', '204'].includes(k))
    .map(([k, n]) => `${k}×${n}`)
    .join(' ');
  return (
    `t=${(s.elapsedMs / 1000).toFixed(1)}s sent ${s.sent} acked ${s.acked} failed ${s.failed}${failures ? ` (${failures})` : ''} ` +
    `rate ${s.ratePerSec.toFixed(1)}/s p50 ${s.p50Ms.toFixed(1)}ms p99 ${s.p99Ms.toFixed(1)}ms max ${s.maxStallMs.toFixed(1)}ms in-flight ${s.inFlight}`
  );
}

function postgresTarget(spec: string): { url: string; label: string } {
  if (/^postgres(ql)?:\/\//.test(spec)) return { url: spec, label: 'a postgres:// URL' };
  return { url: createProfileResolver().url(spec), label: `profile ${spec}` };
}

async function judge(log: OpLog, reader: StoreReader, label: string): Promise<boolean> {
  try {
    const verdict = await checkOracle(log, reader);
    process.stdout.write(`${label}: ${formatVerdict(verdict)}\n`);
    return verdictPasses(verdict);
  } finally {
    await reader.close();
  }
}

async function main(opts: LoadgenCliOptions): Promise<number> {
  // Resolve everything a check needs before generating load, so a typo fails in a second.
  const pg = opts.checkPostgres ? postgresTarget(opts.checkPostgres) : undefined;
  const adminToken = process.env.LICHEN_ADMIN_TOKEN;
  if (opts.checkInstances && !adminToken) throw new CliUsageError('--check-instances needs the admin API token in LICHEN_ADMIN_TOKEN');

  let seeded: OpLog | undefined;
  if (opts.seedRecords > 0) {
    const t0 = Date.now();
    seeded = await seedRecords(opts.urls, { count: opts.seedRecords, months: opts.seedMonths, owners: opts.owners ?? 20, seed: opts.seed, adminToken });
    process.stdout.write(`seeded ${seeded.size} records over ${opts.seedMonths} months in ${Date.now() - t0} ms\n`);
  }

  const handle = startLoad({
    instances: opts.urls,
    ratePerSec: opts.rate,
    durationMs: opts.durationMs,
    owners: opts.owners,
    mix: opts.mix,
    seed: opts.seed,
    concurrency: opts.concurrency,
    timeoutMs: opts.timeoutMs,
    createdAtSpreadMonths: opts.spreadMonths,
  });
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    process.stdout.write('stopping: waiting for requests in flight (Ctrl-C again to exit now)\n');
    void handle.stop();
  };
  process.on('SIGINT', onSigint);
  const ticker = setInterval(() => process.stdout.write(`${formatStats(handle.stats())}\n`), 1000);
  const log = await handle.done;
  clearInterval(ticker);
  process.off('SIGINT', onSigint);

  const s = handle.stats();
  process.stdout.write(`final: ${formatStats(s)}\n`);
  process.stdout.write(
    `acknowledged: ${log.acked.create} creates, ${log.acked.update} updates, ${log.acked.delete} deletes; ` +
      `failed: ${log.failed.create} creates, ${log.failed.update} updates, ${log.failed.delete} deletes; ` +
      `${log.liveCount()} records live${s.lastError ? `; last error: ${s.lastError}` : ''}\n`,
  );

  const full = seeded ? new OpLog().merge(seeded).merge(log) : log;
  if (opts.logPath) {
    fs.writeFileSync(opts.logPath, JSON.stringify(full));
    process.stdout.write(`op log written to ${opts.logPath} (${full.size} records)\n`);
  }
  let ok = true;
  if (s.sent > 0 && s.acked === 0) {
    process.stdout.write('no request was acknowledged: is the service up at the given --url?\n');
    ok = false;
  }
  if (pg) ok = (await judge(full, postgresReader({ connectionString: pg.url }, opts.table), `postgres ${opts.table} (${pg.label})`)) && ok;
  if (opts.checkInstances) ok = (await judge(full, instancesReader(opts.urls, adminToken!), 'instances')) && ok;
  return ok ? 0 : 1;
}

/** `--table` without `--url`: the generic SQL load generator (src/loadgen/sql). */
const sqlMode = (argv: string[]) => !argv.includes('--url') && argv.some((a) => a === '--table' || a.startsWith('--table='));

if (require.main === module && sqlMode(process.argv.slice(2))) {
  sqlLoadMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`loadgen: ${err instanceof Error ? err.message : String(err)}\n\n${SQL_USAGE}\n`);
      process.exit(err instanceof CliUsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err instanceof TableNameError || err instanceof UnknownProfileError ? 2 : 1);
    },
  );
} else if (require.main === module) {
  let opts: LoadgenCliOptions;
  try {
    opts = parseLoadgenArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`loadgen: ${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  main(opts).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`loadgen: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(err instanceof CliUsageError ? 2 : 1);
    },
  );
}
