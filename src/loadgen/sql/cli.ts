import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { Pool } from 'pg';
import { createProfileResolver } from '../../config/profiles';
import { parseDuration, CliUsageError } from '../cli-args';
import { readTableDescriptor } from '../../../activities/conversion/descriptor/read';
import { parseTableName } from '../../conversion/choice/names';
import { keySql, rowKeyOf, startSqlLoad } from './sql-load';
import { formatRowVerdict, judgeRows, readImages, rowVerdictPasses } from './row-oracle';

export const SQL_USAGE = `Usage: npm run loadgen -- --table <schema.table> --profile <app profile> [options]

Inserts, updates and deletes rows of any table through plain SQL, as the role of the profile
(the application's, unprivileged), logs every committed statement with the row image it
returned, and with --judge-profile judges the table against the log afterwards.

  --table T             the table ("name" or "schema.name"; required)
  --profile P           connection profile of the application role (LICHEN_DB_PROFILE_<P>; required)
  --judge-profile P     afterwards, judge the table as this role (one that sees every row: the owner)
  --rate N              statements per second (default 50)
  --duration D          run time, e.g. 30s, 2m (default: until Ctrl-C)
  --mix I,U,D           weights of insert,update,delete (default 4,4,2)
  --seed N              PRNG seed (default 1)
  --concurrency N       statements in flight at most (default 8)
  --spread-days N       timestamps and dates fall in the last N days (default 30)
  --log FILE            write the log as JSON to FILE
  -h, --help            this text

Exit status: 0 done (and the oracle passed), 1 the oracle found missing, stale, resurrected or
extra rows, or nothing committed, 2 bad usage.`;

const num = (flag: string, v: string | undefined, min: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new CliUsageError(`${flag}: expected a number ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
};

export async function sqlLoadMain(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: {
      table: { type: 'string' }, profile: { type: 'string' }, 'judge-profile': { type: 'string' }, rate: { type: 'string' }, duration: { type: 'string' },
      mix: { type: 'string' }, seed: { type: 'string' }, concurrency: { type: 'string' }, 'spread-days': { type: 'string' }, log: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(`${SQL_USAGE}\n`);
    return 0;
  }
  if (!v.table) throw new CliUsageError('--table is required: the table to write');
  if (!v.profile) throw new CliUsageError('--profile is required: the connection profile of the application role');
  const table = parseTableName(v.table, '--table');
  const profiles = createProfileResolver();
  const url = profiles.url(v.profile);
  const judgeUrl = v['judge-profile'] ? profiles.url(v['judge-profile']) : undefined;
  const mixParts = v.mix?.split(',').map(Number);
  if (mixParts && (mixParts.length !== 3 || mixParts.some((x) => !(x >= 0)))) throw new CliUsageError(`--mix: expected insert,update,delete weights such as 4,4,2, got ${JSON.stringify(v.mix)}`);
  const judge = judgeUrl ? new Pool({ connectionString: judgeUrl, max: 2 }) : undefined;
  try {
    let key = '';
    let baseline;
    if (judge) {
      const c = await judge.connect();
      try {
        key = keySql(rowKeyOf(await readTableDescriptor(c, table)));
      } finally {
        c.release();
      }
      baseline = await readImages(judge, v.table, key);
    }
    const load = await startSqlLoad({
      url, table: v.table, ratePerSec: num('--rate', v.rate, 0.01) ?? 50, durationMs: v.duration ? parseDuration('--duration', v.duration) : undefined,
      mix: mixParts ? { insert: mixParts[0], update: mixParts[1], delete: mixParts[2] } : undefined, seed: num('--seed', v.seed, 0), concurrency: num('--concurrency', v.concurrency, 1),
      spreadDays: num('--spread-days', v['spread-days'], 0), baseline,
    });
    const onSigint = () => void load.stop();
    process.on('SIGINT', onSigint);
    const tick = setInterval(() => { const s = load.stats(); process.stdout.write(`t=${(s.elapsedMs / 1000).toFixed(1)}s sent ${s.sent} committed ${s.committed} refused ${s.refused} unanswered ${s.unanswered}\n`); }, 1000);
    const log = await load.done;
    clearInterval(tick);
    process.off('SIGINT', onSigint);
    const s = load.stats();
    process.stdout.write(`final: committed ${log.committed.insert} inserts, ${log.committed.update} updates, ${log.committed.delete} deletes; refused ${s.refused}; unanswered ${s.unanswered}${s.lastError ? `; last error: ${s.lastError}` : ''}\n`);
    if (v.log) fs.writeFileSync(v.log, JSON.stringify(log));
    let ok = s.committed > 0;
    if (judge) {
      const verdict = await judgeRows(judge, v.table, key, baseline!, log);
      process.stdout.write(`${formatRowVerdict(verdict)}\n`);
      ok = ok && rowVerdictPasses(verdict);
    }
    return ok ? 0 : 1;
  } finally {
    await judge?.end();
    await profiles.close();
  }
}
