import { parseArgs } from 'node:util';
import { normaliseInstances, type OpMix } from './load-options';

/** Command-line options of `npm run loadgen` (see USAGE). */
export interface LoadgenCliOptions {
  urls: string[];
  rate: number;
  durationMs: number | undefined;
  owners: number | undefined;
  mix: OpMix | undefined;
  seed: number | undefined;
  concurrency: number | undefined;
  timeoutMs: number | undefined;
  spreadMonths: number | undefined;
  seedRecords: number;
  seedMonths: number;
  logPath: string | undefined;
  checkPostgres: string | undefined;
  table: string;
  checkInstances: boolean;
  help: boolean;
}

export const USAGE = `Usage: npm run loadgen -- --url <base url>[,<base url>…] [options]

Drives creates, updates and deletes against memory-layer instances (owners routed stickily),
logs every acknowledged operation and optionally judges a store against that log.

  --url URLS            instance base URLs, comma-separated (required)
  --rate N              operations per second (default 100)
  --duration D          run time, e.g. 30s, 500ms, 2m (default: until Ctrl-C)
  --owners N            distinct owners (default 20)
  --mix C,U,D           relative weights of create,update,delete (default 4,4,2)
  --seed N              PRNG seed for the run's choices (default 1)
  --concurrency N       requests in flight at most (default 64)
  --timeout D           per-request timeout (default 10s)
  --spread-months N     creates get a createdAt spread over the last N months
  --seed-records N      before the load, create N records spread over --seed-months months
  --seed-months N       months for --seed-records (default 6)
  --log FILE            write the op log as JSON to FILE
  --check-postgres P    afterwards, judge a Postgres table: P is a connection profile name
                        or a postgres:// URL
  --table NAME          table for --check-postgres (default memory_records)
  --check-instances     afterwards, judge the instances' memory stores (admin API; the token
                        is read from LICHEN_ADMIN_TOKEN)
  -h, --help            this text

Exit status: 0 done (and every check passed), 1 a check found missing, stale or resurrected
records, or no request at all was acknowledged, 2 bad usage.`;

export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** "30s", "500ms", "2m", "1h"; a bare number is seconds. */
export function parseDuration(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new CliUsageError(`${flag}: expected a duration such as 30s, 500ms, 2m or 1h, got ${JSON.stringify(v)}`);
  const n = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  if (n <= 0) throw new CliUsageError(`${flag}: must be greater than zero, got ${JSON.stringify(v)}`);
  return n;
}

function parseNumber(flag: string, v: string | undefined, opts: { integer?: boolean; min?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  const min = opts.min ?? 1;
  if (v.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || n < min) {
    throw new CliUsageError(`${flag}: expected ${opts.integer ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function parseMix(v: string | undefined): OpMix | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p) || p < 0) || parts.every((p) => p === 0)) {
    throw new CliUsageError(`--mix: expected three non-negative weights create,update,delete such as 4,4,2, got ${JSON.stringify(v)}`);
  }
  return { create: parts[0], update: parts[1], delete: parts[2] };
}

export function parseLoadgenArgs(argv: string[]): LoadgenCliOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        owners: { type: 'string' },
        mix: { type: 'string' },
        seed: { type: 'string' },
        concurrency: { type: 'string' },
        timeout: { type: 'string' },
        'spread-months': { type: 'string' },
        'seed-records': { type: 'string' },
        'seed-months': { type: 'string' },
        log: { type: 'string' },
        'check-postgres': { type: 'string' },
        table: { type: 'string' },
        'check-instances': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const s = (k: string) => values[k] as string | undefined;
  if (values.help) return { help: true } as LoadgenCliOptions;
  if (!s('url')) throw new CliUsageError('--url is required: one or more instance base URLs, comma-separated (e.g. http://127.0.0.1:8080)');
  let urls: string[];
  try {
    urls = normaliseInstances('--url', s('url')!.split(',').map((u) => u.trim()).filter(Boolean));
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  return {
    urls,
    rate: parseNumber('--rate', s('rate'), { min: 0.001 }) ?? 100,
    durationMs: s('duration') === undefined ? undefined : parseDuration('--duration', s('duration')!),
    owners: parseNumber('--owners', s('owners'), { integer: true }),
    mix: parseMix(s('mix')),
    seed: parseNumber('--seed', s('seed'), { integer: true, min: 0 }),
    concurrency: parseNumber('--concurrency', s('concurrency'), { integer: true }),
    timeoutMs: s('timeout') === undefined ? undefined : parseDuration('--timeout', s('timeout')!),
    spreadMonths: parseNumber('--spread-months', s('spread-months'), { integer: true, min: 0 }),
    seedRecords: parseNumber('--seed-records', s('seed-records'), { integer: true, min: 0 }) ?? 0,
    seedMonths: parseNumber('--seed-months', s('seed-months'), { integer: true }) ?? 6,
    logPath: s('log'),
    checkPostgres: s('check-postgres'),
    table: s('table') ?? 'memory_records',
    checkInstances: values['check-instances'] === true,
    help: false,
  };
}
