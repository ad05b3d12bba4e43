/** Command-line options of `npm run demo`. */
export interface DemoArgs {
  keep: boolean;
  json: boolean;
  records: number;
  months: number;
  rate: number;
  windowMinutes: number;
  /** --convert: the online conversion of a sample table of the user's kind instead of the production cutover. */
  convert: boolean;
  help: boolean;
}

export const DEMO_USAGE = `usage: npm run demo [-- --keep] [--json] [--records N] [--months N] [--rate OPS] [--window MINUTES] [--convert]

Runs a whole production cutover on this machine: embedded PostgreSQL, the Temporal dev server
with its Web UI, two memory-layer instances seeded with Phase 2 data, a worker and the load
generator; then prints the audit summary and the oracle's verdict against Postgres.

  --keep            leave everything running afterwards to explore the UI (Ctrl-C stops it)
  --json            the last line of output is one JSON object:
                    {"workflowId","status","uiUrl","oracle":{"checked","missing","stale","resurrected","extra"}}
  --records N       Phase 2 records to seed (default 3000, 1–200000)
  --months N        months they are spread over (default 6, 1–36)
  --rate OPS        load generator operations per second during the run (default 100, 0–2000)
  --window MINUTES  monitoring window (default 0.5; a non-production run, so fractions are fine)
  --convert         instead: convert a sample table of your kind (demo.orders: serial id, a trigger,
                    a dependent view, 20000 rows) online to monthly partitions — its plan first, the
                    generic SQL load as an unprivileged role during the run, the row oracle after

Exit status: 0 the run completed and the oracle found nothing missing, stale or resurrected;
1 otherwise; 2 usage error; 130 interrupted.`;

export class DemoUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemoUsageError';
  }
}

export function parseDemoArgs(argv: string[]): DemoArgs {
  const a: DemoArgs = { keep: false, json: false, records: 3000, months: 6, rate: 100, windowMinutes: 0.5, convert: false, help: false };
  const num = (flag: string, raw: string | undefined, min: number, max: number, integer: boolean): number => {
    const v = Number(raw);
    if (raw === undefined || raw.trim() === '' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new DemoUsageError(`${flag}: must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`);
    }
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--keep': a.keep = true; break;
      case '--json': a.json = true; break;
      case '--records': a.records = num(flag, value(), 1, 200_000, true); break;
      case '--months': a.months = num(flag, value(), 1, 36, true); break;
      case '--rate': a.rate = num(flag, value(), 0, 2000, true); break;
      case '--window': a.windowMinutes = num(flag, value(), 0.05, 60, false); break;
      case '--convert': a.convert = true; break;
      case '--help': case '-h': a.help = true; break;
      default: throw new DemoUsageError(`unknown argument ${JSON.stringify(argv[i])}; allowed: --keep, --json, --records, --months, --rate, --window, --convert, --help`);
    }
  }
  return a;
}
