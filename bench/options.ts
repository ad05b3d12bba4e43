/**
 * Command-line options of `npm run bench`. Every figure's size derives from these, so a quick
 * run and a full run measure the same things at different scales.
 */
export const BENCH_CODES = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9'] as const;
export type BenchCode = (typeof BENCH_CODES)[number];

/** The sizes of B1, B2 and B3 in a full run: each figure at both, to show how it grows. */
export const FULL_SIZES = [100_000, 1_000_000] as const;
/** Base row count of B4–B7 in a full run (B4 and B6 at 5 × rows and a tenth of that, B7 at 2 × rows). */
export const FULL_ROWS = 200_000;
export const QUICK_ROWS = 20_000;
export const MIN_ROWS = 1000;
export const MAX_ROWS = 10_000_000;
export const MAX_SIZES = 4;
/** The size --with-10m adds to the conversion figures (B2, B2b, B3b, B8): issue 25's large size. */
export const LARGE_CONVERSION_ROWS = 10_000_000;

export interface BenchOptions {
  quick: boolean;
  /** Base row count of B4–B7 (B4 and B6 use 5 × rows and a tenth of that, B7 2 × rows). */
  rows: number;
  /**
   * The sizes B1, B2 (B2b) and B3 (B3b) are measured at, ascending, each against its limit at
   * the same size: 100k and 1M in a full run, 20k with --quick, [N] with --rows N, or --sizes.
   */
  sizes: number[];
  /**
   * The sizes of the conversion figures (B2, B2b, B3b, B8): `sizes`, plus 10M with --with-10m
   * (no memory store holds their rows, so they are not bound by B1/B3's heap budget).
   */
  conversionSizes: number[];
  /** Where `sizes` came from, so a refusal can name the flag to change. */
  sizesFrom: 'full run' | '--quick' | '--rows' | '--sizes';
  /** Writes per second of the steady load in B4 and B5. */
  writeRate: number;
  only: Set<BenchCode>;
  /** Seconds each B5 mode runs. */
  modeSeconds: number;
}

export class BenchUsageError extends Error {
  constructor(message: string) {
    super(`${message}\nusage: npm run bench -- [--quick] [--rows N] [--sizes N,M] [--with-10m] [--write-rate N] [--only B1,B4]`);
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

/** "100000", "100k", "1M", "1_000_000" → the integer; anything else → NaN. */
function parseCount(raw: string): number {
  const m = /^(\d[\d_]*)([kKmM]?)$/.exec(raw.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1].replace(/_/g, ''));
  return m[2] === '' ? n : n * (m[2].toLowerCase() === 'k' ? 1000 : 1_000_000);
}

/** `--sizes 100000,1000000` (or 100k,1M): distinct sizes, ascending, each within --rows' bounds. */
export function parseSizes(raw: string | undefined): number[] {
  const parts = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const sizes = parts.map(parseCount);
  const bad = parts.filter((_, i) => !Number.isInteger(sizes[i]) || sizes[i] < MIN_ROWS || sizes[i] > MAX_ROWS);
  if (parts.length === 0 || bad.length) {
    throw new BenchUsageError(`--sizes takes a comma-separated list of row counts from ${MIN_ROWS} to ${MAX_ROWS} (100k and 1M allowed); got ${JSON.stringify(raw ?? null)}`);
  }
  const distinct = [...new Set(sizes)].sort((a, b) => a - b);
  if (distinct.length > MAX_SIZES) throw new BenchUsageError(`--sizes takes at most ${MAX_SIZES} sizes (each one runs B1, B2 and B3 again); got ${distinct.length}`);
  return distinct;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let quick = false;
  let rows: number | undefined;
  let sizes: number[] | undefined;
  let writeRate = 300;
  let with10m = false;
  let only = new Set<BenchCode>(BENCH_CODES);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--quick':
        quick = true;
        break;
      case '--with-10m':
        with10m = true;
        break;
      case '--rows':
        rows = positiveInt('--rows', value(), MIN_ROWS, MAX_ROWS);
        break;
      case '--sizes':
        sizes = parseSizes(value());
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
  // --rows N alone keeps its single-size meaning (every figure from N); --sizes sets B1–B3's sizes
  // and leaves --rows (or the run's default) to B4–B7.
  const base = rows ?? (quick ? QUICK_ROWS : FULL_ROWS);
  const [chosen, from]: [number[], BenchOptions['sizesFrom']] = sizes
    ? [sizes, '--sizes']
    : rows !== undefined
      ? [[rows], '--rows']
      : quick
        ? [[QUICK_ROWS], '--quick']
        : [[...FULL_SIZES], 'full run'];
  const conversionSizes = with10m ? [...new Set([...chosen, LARGE_CONVERSION_ROWS])].sort((a, b) => a - b) : chosen;
  return { quick, rows: base, sizes: chosen, conversionSizes, sizesFrom: from, writeRate, only, modeSeconds: quick ? 4 : 15 };
}
