import { spawn } from 'node:child_process';
import v8 from 'node:v8';
import path from 'node:path';
import { BenchUsageError, type BenchOptions } from './options';

/**
 * What the bench starts must not outlive it. A SIGINT/SIGTERM runs `cleanup` and exits; a death
 * no JavaScript handler sees (a V8 heap out-of-memory abort, SIGKILL) is covered by a watchdog:
 * a detached shell that polls this process and, once it is gone, stops the embedded PostgreSQL
 * (its postmaster.pid, SIGINT = fast shutdown), kills the other servers named and removes the
 * data directory.
 */
export function guardServers(opts: { dataDir?: string; pids?: () => (number | undefined)[]; cleanup: () => Promise<void> }): { add(pid: number | undefined): void } {
  const extra = new Set<number>();
  const watch = (dataDir: string | undefined, pids: number[]) => {
    const pidFile = dataDir ? path.join(dataDir, 'data', 'postmaster.pid') : '';
    const script = [
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
      ...(pidFile ? [`[ -f '${pidFile}' ] && kill -INT "$(head -1 '${pidFile}')" 2>/dev/null; sleep 3`] : []),
      ...pids.map((p) => `kill -KILL ${p} 2>/dev/null`),
      ...(dataDir ? [`rm -rf '${dataDir}'`] : []),
      'exit 0',
    ].join('\n');
    spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
  };
  watch(opts.dataDir, []);
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`[bench] ${sig}: stopping the servers it started\n`);
      void opts.cleanup().finally(() => process.exit(130));
    });
  }
  return {
    /** A server started later (the Temporal dev server of B7): killed if the bench dies. */
    add(pid) {
      if (pid && !extra.has(pid)) {
        extra.add(pid);
        watch(undefined, [pid]);
      }
    },
  };
}

/**
 * Bytes of heap one record takes in an app's memory store (Map entries, sort key, checksum
 * value, the record and its metadata): measured 1,359 B at 400k records on Node 20; rounded up.
 */
export const STORE_BYTES_PER_RECORD = 1500;
/** Share of the heap the in-process stores may take (the rest: HTTP, encoding, the harness). */
const HEAP_SHARE = 0.6;

/** Rows the bench process can hold in its in-process memory stores at once. */
export function inProcessRowBudget(heapLimit = v8.getHeapStatistics().heap_size_limit): number {
  return Math.floor((heapLimit * HEAP_SHARE) / STORE_BYTES_PER_RECORD);
}

/**
 * Rows a figure seeds into the in-process stores for `--rows`: B6 wants 5 × rows and B7 2 × rows,
 * both capped to the budget (their notes say so); B1/B3 need exactly `rows` (else refused).
 */
export function sizedRows(code: 'B6' | 'B7', rows: number, budget = inProcessRowBudget()): { rows: number; capped: boolean } {
  const want = rows * (code === 'B6' ? 5 : 2);
  return { rows: Math.min(want, budget), capped: want > budget };
}

/**
 * Refuses, before anything starts, a size that B1/B3 could not hold in this process's heap
 * (they would die of a heap out-of-memory error half-way): the largest of `sizes`, whether it
 * came from --rows, --sizes or the full run's defaults; B6 and B7 are capped instead.
 */
export function checkSizes(opts: Pick<BenchOptions, 'only' | 'rows' | 'sizes' | 'sizesFrom'>, budget = inProcessRowBudget()): void {
  const over = (['B1', 'B3'] as const).filter((c) => opts.only.has(c));
  const largest = Math.max(...opts.sizes);
  if (over.length === 0 || largest <= budget) return;
  const heapMB = Math.round((budget * STORE_BYTES_PER_RECORD) / HEAP_SHARE / 2 ** 20);
  const what =
    opts.sizesFrom === '--rows'
      ? `--rows ${largest}`
      : opts.sizesFrom === '--sizes'
        ? `--sizes ${opts.sizes.join(',')} (${largest} rows)`
        : `the ${opts.sizesFrom}'s largest size (${largest} rows; sizes ${opts.sizes.join(', ')})`;
  const use = opts.sizesFrom === '--rows' ? `--rows ≤ ${budget}` : `--sizes with every size ≤ ${budget} (or --rows ≤ ${budget} for one size)`;
  throw new BenchUsageError(
    `${what} is too large for ${over.join(' and ')}: they hold every row in this process's memory stores (~${STORE_BYTES_PER_RECORD} B per record), ` +
      `and its heap (${heapMB} MB V8 limit, ${HEAP_SHARE * 100}% for the stores) holds ${budget}. ` +
      `Use ${use}, leave ${over.join('/')} out with --only, or give Node a larger heap (NODE_OPTIONS=--max-old-space-size=…).`,
  );
}
