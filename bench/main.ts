/**
 * `npm run bench`: B1–B7 of issue 7 and B8–B9 of issue 25, each figure beside its reference,
 * measured in the same run on the same machine and data. Starts its own embedded Postgres
 * (DATABASE_URL overrides) and, for B7 and B8, a Temporal dev server. Writes bench/results/latest.json and latest.md.
 * Never part of `npm test`.
 */
import path from 'node:path';
import { Pool } from 'pg';
import { startPostgres } from '../src/devenv/postgres';
import { startTemporal } from '../src/devenv/temporal';
import { formatSetupError, SetupError } from '../src/devenv/setup-error';
import { projectRoot } from '../src/devenv/paths';
import { monthsBetween } from '../activities/lib/months';
import { BENCH_CODES, BenchUsageError, parseBenchArgs, type BenchCode } from './options';
import { carryOver, readResults } from './carry';
import { growthOf, machineInfo, ratio, writeResults, updateReadme, type BenchResults } from './report';
import { entry, log, round1, type Ctx } from './ctx';
import { b2 } from './conversion';
import { measureB9 } from './b9-trigger';
import { benchDatabase, postgresVersion, secretsFor } from './env';
import { phase2Apps } from './apps';
import { DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_ROWS, instanceRefs, measureB1 } from './b1-backfill';
import { measureB3 } from './b3-parity';
import { swapAtSize } from './b4-swap';
import { measureB5 } from './b5-dual-write';
import { rssAtSize } from './b6-rss';
import { measureB7 } from './b7-orchestration';
import { recentMonths } from './data';
import { checkSizes, guardServers, inProcessRowBudget, sizedRows } from './guard';

const MONTHS = 6;

/** B1 and B3 share one state: the backfill of B1 leaves Postgres equal to the memory stores, which B3 verifies. */
async function b1b3(ctx: Ctx, rows: number): Promise<void> {
  const { opts, pg } = ctx;
  const db = await benchDatabase(pg, 'partitioned', 'b1');
  const limitDb = await benchDatabase(pg, 'partitioned', 'b1limit');
  const apps = await phase2Apps(db.url, 2, rows, MONTHS);
  const deps = { profiles: db.profiles, secrets: secretsFor(apps.adminToken) };
  try {
    if (opts.only.has('B1')) {
      log(`B1: backfill of ${rows} rows from 2 instances vs COPY FROM STDIN`);
      const f = await measureB1(deps, apps, limitDb, recentMonths(MONTHS));
      ctx.entries.push(entry({
        name: 'B1 backfill memory→Postgres rows/s', ours: f.oursRowsPerSec, reference: f.copyRowsPerSec, unit: 'rows/s', rows: f.rows, size: rows,
        target: 'ratio ≥ 0.8', met: (r) => r >= 0.8,
        notes: [`ours: backfillChunk (the admin export streamed as COPY text, slabs of ${DEFAULT_BATCH_SIZE} COPY'd into a staging table and applied by one guarded statement each, two in flight; chunk ${DEFAULT_CHUNK_ROWS}; one lane) from 2 instances, ${Math.round(f.oursMs)} ms; reading the export stream alone takes ${Math.round(f.exportMs)} ms; limit: COPY FROM STDIN on one connection, ${Math.round(f.copyMs)} ms.`],
      }));
    }
    if (opts.only.has('B3')) {
      if (!opts.only.has('B1')) {
        const { runOurBackfill, planUnits } = await import('./b1-backfill');
        await runOurBackfill(deps, await planUnits(deps, instanceRefs(apps)));
      }
      log(`B3: verifyMonth over ${rows} rows vs a bare checksum scan`);
      const months = monthsBetween(new Date(recentMonths(MONTHS)[0]), new Date());
      const f = await measureB3(deps, db.pool, instanceRefs(apps), months);
      ctx.entries.push(entry({
        name: 'B3 parity verification rows/s', ours: f.oursRowsPerSec, reference: f.limitRowsPerSec, unit: 'rows/s', rows: f.rows, size: rows,
        target: 'ratio ≥ 0.8', met: (r) => r >= 0.8,
        notes: [`ours: verifyMonth × ${f.months} months (Postgres checksum + every instance's checksum over HTTP); limit: one scan summing the checksum's row expression (md5); sum(hashtext(t::text)) scans at ${f.hashtextRowsPerSec} rows/s.`],
      }));
    }
  } finally {
    await apps.stopAll();
    await db.drop();
    await limitDb.drop();
  }
}

async function b4(ctx: Ctx): Promise<void> {
  const large = ctx.opts.rows * 5;
  const small = Math.round(large / 10);
  const trials = 3;
  log(`B4: swap under ${ctx.opts.writeRate} writes/s at ${small} and ${large} rows, ${trials} swaps each`);
  const s = await swapAtSize(ctx.pg, small, ctx.opts.writeRate, trials);
  const l = await swapAtSize(ctx.pg, large, ctx.opts.writeRate, trials);
  const failedDuring = [...s.trials, ...l.trials].reduce((a, t) => a + t.failedDuring, 0);
  const failedTotal = s.failedWrites + l.failedWrites;
  const trialText = (x: typeof s) => x.trials.map((t) => `${Math.round(t.stallMs)}`).join('/');
  const base = Math.max(...[...s.trials, ...l.trials].map((t) => t.baselineP50Ms));
  ctx.entries.push(entry({
    name: 'B4 swap write stall ms', ours: Math.round(l.stallMs), reference: Math.round(s.stallMs), unit: 'ms', rows: `${small} / ${large}`,
    target: 'stall ≤ 100 ms, 0 failed writes, ratio ≤ 1.5',
    met: (r) => l.stallMs <= 100 && s.stallMs <= 100 && failedDuring === 0 && failedTotal === 0 && r <= 1.5,
    notes: [
      `longest write overlapping the one engine's swap (swapGeneric, memory_records' preset: change-log engine, swap.lockTimeoutMs ${l.lock.lockTimeoutMs} ms, up to ${l.lock.maxTries} tries; each swap from a shadow armed under the load by createGenericShadow → installGenericSync → copyGenericSnapshot → replayGenericLog, swapBackGeneric between), worst of ${trials} swaps per size (small ${trialText(s)} ms, large ${trialText(l)} ms) at ${ctx.opts.writeRate} writes/s through a pg pool;`,
      `failed writes: ${failedDuring} during the swaps, ${failedTotal} in the whole run${failedTotal ? ` (${[...s.failedExamples, ...l.failedExamples].join('; ')})` : ''};`,
      `lock held ${l.trials.map((t) => t.lockHoldMs?.toFixed(1)).join('/')} ms (transaction ${l.trials.map((t) => t.transactionMs?.toFixed(1)).join('/')} ms, tries ${l.trials.map((t) => t.tries).join('/')}) at the large size; undisturbed write p50 ≤ ${base.toFixed(1)} ms.`,
    ],
    details: { small, large, failedDuringSwaps: failedDuring, failedWrites: failedTotal, trials: { small: s.trials, large: l.trials } },
  }));
}

async function b5(ctx: Ctx): Promise<void> {
  log(`B5: write latency per persistence mode, ${ctx.opts.writeRate} ops/s for ${ctx.opts.modeSeconds} s each`);
  const modes = await measureB5(ctx.pg, ctx.opts.writeRate, ctx.opts.modeSeconds);
  const by = (l: string) => modes.find((m) => m.label === l)!;
  const dual = [by('dual-write memory primary'), by('dual-write postgres primary')];
  const worst = dual.reduce((a, b) => (b.p99Ms > a.p99Ms ? b : a));
  const pgOnly = by('postgres-only');
  const failed = modes.reduce((a, m) => a + m.failed, 0);
  ctx.entries.push(entry({
    name: 'B5 dual-write overhead (write p99 ms)', ours: round1(worst.p99Ms), reference: round1(pgOnly.p99Ms), unit: 'ms (p99)', rows: modes.reduce((a, m) => a + m.acked, 0),
    target: 'ratio ≤ 1.3', met: (r) => r <= 1.3,
    notes: [
      `load generator (create/update/delete 4:4:2) against one app instance over HTTP; p50/p99 ms: ${modes.map((m) => `${m.label} ${round1(m.p50Ms)}/${round1(m.p99Ms)}`).join(', ')};`,
      `worst dual-write: ${worst.label}; each mode the median of 4 interleaved rounds (${modes.map((m) => (m.rounds ?? []).map((r) => round1(r.p99Ms)).join('/')).join(', ')} ms p99); failed requests ${failed}. rows = acknowledged operations.`,
    ],
    details: { modes },
  }));
}

async function b6(ctx: Ctx): Promise<void> {
  // 5 × rows in this process's memory stores, at most what its heap holds (guard.ts).
  const budget = inProcessRowBudget();
  const { rows: large, capped } = sizedRows('B6', ctx.opts.rows, budget);
  const small = Math.round(large / 10);
  log(`B6: worker peak RSS during the backfill at ${small} and ${large} rows`);
  const s = await rssAtSize(ctx.pg, small);
  const l = await rssAtSize(ctx.pg, large);
  ctx.entries.push(entry({
    name: 'B6 worker peak RSS during backfill MB', ours: l.peakRssMB, reference: s.peakRssMB, unit: 'MB', rows: `${small} / ${large}`,
    target: 'peak ≤ 250 MB, ratio ≤ 1.1', met: (r) => l.peakRssMB <= 250 && r <= 1.1,
    notes: [
      `a separate Node process (tsx) running planBackfill + backfillChunk in 2 lanes, batch 1000; peak = max(VmHWM, sampled RSS); RSS before work ${s.startRssMB} / ${l.startRssMB} MB.`,
      ...(capped ? [`Large size capped at ${large} rows (not 5 × ${ctx.opts.rows}): the apps' memory stores live in the bench process, whose heap holds ${budget} records.`] : []),
    ],
    details: { small: s, large: l },
  }));
}

async function b7(ctx: Ctx): Promise<void> {
  const { rows, capped } = sizedRows('B7', ctx.opts.rows);
  if (capped) log(`B7: capped at ${rows} rows (not 2 × ${ctx.opts.rows}): the apps' memory stores live in this process (guard.ts)`);
  log(`B7: a whole productionCutover over ${rows} rows on a Temporal dev server`);
  const server = await startTemporal();
  ctx.guard.add(server.pid);
  try {
    const f = await measureB7(ctx.pg, server, rows);
    ctx.entries.push(entry({
      name: 'B7 orchestration overhead (wall vs activity time) s', ours: round1(f.wallWithoutWindowMs / 1000), reference: round1(f.activityBusyMs / 1000), unit: 's',
      ratio: ratio(f.wallWithoutWindowMs, f.activityBusyMs), rows: f.rows,
      target: 'ratio ≤ 1.1', met: (r) => r <= 1.1,
      notes: [
        `productionCutover, nonProduction, 3 s monitoring window, no approvals, defaults otherwise (batch 1000, 2 lanes); wall = first to last history event (${round1(f.wallMs / 1000)} s) minus the ${round1(f.timerOnlyMs / 1000)} s covered only by durable timers (the window);`,
        `reference = time covered by ${f.activities} activities (ActivityTaskStarted→Completed, overlapping lanes once; plain sum ${round1(f.activitySumMs / 1000)} s); backfill ${f.backfillRowsPerSec} rows/s.`,
        ...(capped ? [`Capped at ${rows} rows (not 2 × ${ctx.opts.rows}): the apps' memory stores live in the bench process.`] : []),
      ],
      details: { ...f },
    }));
  } finally {
    await server.stop();
  }
}

async function b9(ctx: Ctx): Promise<void> {
  const seconds = ctx.opts.modeSeconds;
  log(`B9: app write latency with and without the conversion's forward sync trigger, ${ctx.opts.writeRate} writes/s, rounds of ${seconds} s`);
  const f = await measureB9(ctx.pg, ctx.opts.rows, ctx.opts.writeRate, seconds);
  const rounds = (t: boolean) => f.rounds.filter((r) => r.trigger === t).map((r) => round1(r.p99Ms)).join('/');
  ctx.entries.push(entry({
    name: 'B9 sync trigger cost (app write p99 ms)', ours: round1(f.withP99Ms), reference: round1(f.withoutP99Ms), unit: 'ms (p99)', rows: f.rounds.reduce((a, r) => a + r.writes, 0),
    target: 'ratio ≤ 1.3', met: (r) => r <= 1.3,
    notes: [
      `single-row INSERT/UPDATE 1:1 on memory_records (${f.rows} rows) as an unprivileged role, ${ctx.opts.writeRate}/s open loop through a pg pool; the trigger installed by the engine's own activities (createGenericShadow + installGenericSync) and removed by rollbackGenericBeforeSwap between rounds;`,
      `interleaved rounds of ${seconds} s (without, with, × ${f.rounds.length / 2}), each side the median of its rounds' p99 (with: ${rounds(true)} ms; without: ${rounds(false)} ms); p50 with/without ${round1(f.withP50Ms)}/${round1(f.withoutP50Ms)} ms (ratio ${ratio(f.withP50Ms, f.withoutP50Ms)}); failed writes ${f.failedWrites}. rows = writes measured.`,
    ],
    details: { rounds: f.rounds, failedWrites: f.failedWrites },
  }));
}

async function main(): Promise<void> {
  const opts = parseBenchArgs(process.argv.slice(2));
  checkSizes(opts);
  const t0 = Date.now();
  log(`starting Postgres (${opts.quick ? 'quick' : 'full'} run, B1/B3 at ${opts.sizes.join(' and ')} rows, B2/B8 at ${opts.conversionSizes.join(' and ')}, B4–B7 from rows ${opts.rows}, write rate ${opts.writeRate}/s, only ${[...opts.only].join(',')})`);
  const pg = await startPostgres();
  const guard = guardServers({ dataDir: pg.dataDir, cleanup: () => pg.stop() });
  const ctx: Ctx = { opts, pg, entries: [], skipped: [], guard };
  try {
    const admin = new Pool({ connectionString: pg.url, max: 1 });
    const version = await postgresVersion(admin).finally(() => admin.end());
    // B1/B3 once per size and B2 (B2b, B3b, B8) once per conversion size, smallest first, each
    // against its limit at that size; B4–B7 and B9 once, at the sizes they derive from --rows.
    const steps: [string, BenchCode[], (c: Ctx) => Promise<void>][] = [
      ...opts.sizes.flatMap((n): [string, BenchCode[], (c: Ctx) => Promise<void>][] => [
        [`B1/B3 at ${n}`, ['B1', 'B3'], (c) => b1b3(c, n)],
      ]),
      // The conversion figures (B2, B2b, B3b, B8) at the conversion sizes (--with-10m adds 10M).
      ...opts.conversionSizes.map((n): [string, BenchCode[], (c: Ctx) => Promise<void>][] => [
        [`B2/B8 at ${n}`, ['B2', 'B8'], (c) => b2(c, n)],
      ]).flat(),
      ['B4', ['B4'], b4],
      ['B5', ['B5'], b5],
      ['B6', ['B6'], b6],
      ['B7', ['B7'], b7],
      ['B9', ['B9'], b9],
    ];
    const timings: { step: string; seconds: number }[] = [];
    for (const [step, codes, run] of steps) {
      if (!codes.some((c) => opts.only.has(c))) continue;
      const s0 = Date.now();
      await run(ctx);
      timings.push({ step, seconds: Math.round((Date.now() - s0) / 1000) });
      log(`${step}: ${timings[timings.length - 1].seconds} s (${Math.round((Date.now() - t0) / 1000)} s so far)`);
    }
    const results: BenchResults = {
      machine: machineInfo(version),
      quick: opts.quick,
      options: {
        rows: opts.rows, sizes: opts.sizes, conversionSizes: opts.conversionSizes, sizesFrom: opts.sizesFrom, writeRate: opts.writeRate, only: [...opts.only], modeSeconds: opts.modeSeconds,
        seconds: Math.round((Date.now() - t0) / 1000),
      },
      entries: ctx.entries,
      skipped: ctx.skipped,
      growth: growthOf(ctx.entries),
      steps: timings,
    };
    // A run of some codes (--only) keeps the previous run's figures of the others, each marked as carried.
    const dir = path.join(projectRoot, 'bench', 'results');
    const measured = [...opts.only];
    const kept = measured.length < BENCH_CODES.length ? carryOver(readResults(path.join(dir, 'latest.json')), results, measured) : results;
    const out = writeResults(dir, kept);
    log(`done in ${Math.round((Date.now() - t0) / 1000)} s: ${path.relative(projectRoot, out.json)}, ${path.relative(projectRoot, out.md)}`);
    // The README shows the table of a complete run only (an --only subset would hide entries).
    const complete = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B9'].every((c) => results.entries.some((e) => e.name.startsWith(`${c} `)));
    if (complete && updateReadme(path.join(projectRoot, 'README.md'), results)) log('README.md benchmark table updated');
    for (const s of ctx.skipped) log(`not measured: ${s.name}: ${s.why}`);
  } finally {
    await pg.stop();
  }
}

main().catch((err: unknown) => {
  if (err instanceof BenchUsageError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof SetupError) process.stderr.write(formatSetupError(err, 'npm run bench'));
  else process.stderr.write(`[bench] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
