/**
 * Command-line options of `npm run bench`. Every figure's size derives from these, so a quick
 * run and a full run measure the same things at different scales.
 */
export const BENCH_CODES = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7'] as const;
export type BenchCode = (typeof BENCH_CODES)[number];

export interface BenchOptions {
  quick: boolean;
  /** Base row count (B1, B2, B3, B7; B4 and B6 use rows/10 and rows). */
  rows: number;
  /** Writes per second of the steady load in B4 and B5. */
  writeRate: number;
  only: Set<BenchCode>;
  /** Seconds each B5 mode runs. */
  modeSeconds: number;
}

export class BenchUsageError extends Error {
  constructor(message: string) {
    super(`${message}\nusage: npm run bench -- [--quick] [--rows N] [--write-rate N] [--only B1,B4]`);
    this.name = 'BenchUsageError';
  }
}

function positiveInt(flag: string, raw: string | undefined, min: number, max: number): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isInteger(n) || n < min || n > max) {
    throw new BenchUsageError(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw ?? null)}`);
  }
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let quick = false;
  let rows: number | undefined;
  let writeRate = 300;
  let only = new Set<BenchCode>(BENCH_CODES);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--quick':
        quick = true;
        break;
      case '--rows':
        rows = positiveInt('--rows', value(), 1000, 10_000_000);
        break;
      case '--write-rate':
        writeRate = positiveInt('--write-rate', value(), 1, 5000);
        break;
      case '--only': {
        const raw = value();
        const codes = (raw ?? '').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
        const bad = codes.filter((c) => !(BENCH_CODES as readonly string[]).includes(c));
        if (codes.length === 0 || bad.length) throw new BenchUsageError(`--only takes a comma-separated list of ${BENCH_CODES.join(', ')}; got ${JSON.stringify(raw ?? null)}`);
        only = new Set(codes as BenchCode[]);
        break;
      }
      default:
        throw new BenchUsageError(`unknown argument ${JSON.stringify(a)}`);
    }
  }
  return { quick, rows: rows ?? (quick ? 20_000 : 200_000), writeRate, only, modeSeconds: quick ? 4 : 15 };
}
