import { Pool } from 'pg';
import { createDatabase, dropDatabase } from '../src/devenv/postgres';
import { startTemporal, type RunningTemporal } from '../src/devenv/temporal';
import { createProfileResolver, type ProfileResolver } from '../src/config/profiles';
import { applyPlan } from '../src/migrations/runner';
import { benchDatabase, postgresVersion } from './env';
import { seedTable } from './data';
import { measurePartitionDataProc, partmanServerUrl } from './partman';
import { bareRowChecksumScan, countRows, genericInput, insertSelectInto, preflight, rowsPerSecond, runGenericCopy, runGenericParity, shadowAndSync, TABLE } from './generic';
import { runConversion, type ConversionRun } from './b8-attach';
import { appRole } from './app-role';
import { mb } from './stats';
import { entry, log, skip, type Ctx } from './ctx';

const MONTHS = 6;
const HEAP = TABLE;

/** The engine's copy and parity on a seeded heap, against the limits on the same target (B2, B3b). */
async function copyAndParity(pool: Pool, profiles: ProfileResolver, rows: number) {
  const { io, plan } = await preflight(profiles, genericInput('copy'));
  await shadowAndSync(profiles, io);
  const shadow = plan.names.shadow;
  const empty = async () => {
    await pool.query(`TRUNCATE ${shadow}`);
    await pool.query(`VACUUM ANALYZE ${HEAP}`);
  };
  const first = await insertSelectInto(pool, shadow, HEAP);
  await empty();
  const ours = await runGenericCopy(profiles, io);
  const copied = await countRows(pool, shadow);
  if (ours.rows !== rows || copied !== rows) throw new Error(`B2: the engine's copy reported ${ours.rows} rows and the shadow holds ${copied}; the heap holds ${rows}`);
  const parity = await runGenericParity(profiles, io);
  if (!parity.match || parity.rows !== rows) throw new Error(`B3b: the engine's parity found ${parity.match ? 'a match' : 'a difference'} over ${parity.rows} rows after the copy of ${rows}`);
  const a = await bareRowChecksumScan(pool, HEAP);
  const b = await bareRowChecksumScan(pool, shadow);
  await empty();
  const second = await insertSelectInto(pool, shadow, HEAP);
  for (const r of [first, second]) if (r.rows !== rows) throw new Error(`B2: INSERT … SELECT copied ${r.rows} rows, expected ${rows}`);
  const limits = [first, second].map((r) => rowsPerSecond(r.rows, r.ms));
  return {
    ours: { rowsPerSec: rowsPerSecond(ours.rows, ours.ms), batches: ours.batches, ms: ours.ms, parallelism: ours.parallelism },
    limit: { rowsPerSec: Math.max(...limits), runs: limits },
    parity: { rowsPerSec: rowsPerSecond(rows, parity.ms), ranges: parity.ranges, partitions: parity.partitions, limitRowsPerSec: rowsPerSecond(rows, a.ms + b.ms) },
  };
}

const OURS = (lanes: number, partitions: number) => `ours: the any-table engine's activities as the workflow calls them (planGenericConversion → createGenericShadow → installGenericSync → copyGenericSnapshot → replayGenericLog: the change-log engine, every partition from one exported snapshot into a plain table, indexes built after, attached; ${partitions} partitions in ${lanes} lane${lanes === 1 ? '' : 's'} (copy.parallelism's default: the cores the database reports, else 2), unthrottled)`;

/** B2 and B3b at one size on the embedded server: the any-table engine on memory_records' shape. */
export async function b2(ctx: Ctx, rows: number): Promise<void> {
  if (ctx.opts.only.has('B2')) await onEmbedded(ctx, rows);
  await onPartmanServer(ctx, rows);
}

async function onEmbedded(ctx: Ctx, rows: number): Promise<void> {
  log(`B2: the any-table engine's copy of ${rows} heap rows vs INSERT … SELECT`);
  const db = await benchDatabase(ctx.pg, 'heap', 'b2');
  try {
    await seedTable(db.pool, 'memory_records', rows, MONTHS);
    const f = await copyAndParity(db.pool, db.profiles, rows);
    ctx.entries.push(entry({
      name: 'B2 heap→partitioned copy rows/s', ours: f.ours.rowsPerSec, reference: f.limit.rowsPerSec, unit: 'rows/s', rows, size: rows,
      target: 'ratio ≥ 1.5', met: (r) => r >= 1.5,
      notes: [`${OURS(f.ours.parallelism, f.ours.batches)}; limit: one INSERT … SELECT into the same partitioned target (the engine's shadow, emptied; one backend, PostgreSQL does not parallelise an INSERT), best of ${f.limit.runs.join(' / ')} rows/s. Parallelism: ours ${f.ours.parallelism} backends, the limit 1.`],
    }));
    ctx.entries.push(entry({
      name: 'B3b conversion parity (heap↔shadow) rows/s', ours: f.parity.rowsPerSec, reference: f.parity.limitRowsPerSec, unit: 'rows/s', rows, size: rows,
      target: 'ratio ≥ 0.8', met: (r) => r >= 0.8,
      notes: [`ours: genericParity as new runs call it (ranges: 'partitions': each range one partition's bound, the partition read whole and the heap's rows of the bound through its created_at index, each range in its own REPEATABLE READ snapshot; ${f.parity.ranges} ranges, ${f.parity.partitions} partition results, unthrottled); limit: two bare scans summing the same row checksum (md5 of the row image) over the heap and the shadow.`],
    }));
  } finally {
    await db.drop();
  }
}

interface PartmanDb {
  url: string;
  pool: Pool;
  profiles: ProfileResolver;
  drop(): Promise<void>;
}

let dbCounter = 0;
async function partmanDatabase(serverUrl: string, rows: number): Promise<PartmanDb> {
  const name = `bench_partman_${process.pid}_${dbCounter++}`;
  const url = await createDatabase(serverUrl, name);
  const pool = new Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined);
  const profiles = createProfileResolver({ default: url }, {});
  const c = await pool.connect();
  try {
    await applyPlan(c, 'heap', { appliedBy: 'bench' });
  } finally {
    c.release();
  }
  await seedTable(pool, 'memory_records', rows, MONTHS);
  return {
    url, pool, profiles,
    async drop() {
      await profiles.close();
      await pool.end();
      await dropDatabase(serverUrl, name).catch(() => undefined);
    },
  };
}

const B2B = 'B2b heap→partitioned copy vs pg_partman partition_data_proc rows/s';
const B8_WALL = 'B8 instant conversion (mode attach) start→swap vs partition_data_proc ms';
const B8_WAL = 'B8 instant conversion WAL vs copy mode MB';
const B8_STALL = 'B8 instant conversion longest write stall ms';

/** B2b and B8 at one size on the pg_partman server (PostgreSQL 15, scripts/install-partman.sh), each on a freshly seeded table of the same data. */
async function onPartmanServer(ctx: Ctx, rows: number): Promise<void> {
  const wantB8 = ctx.opts.only.has('B8');
  const server = partmanServerUrl();
  if ('why' in server) {
    log(`B2b/B8 skipped: ${server.why}`);
    skip(ctx, B2B, server.why);
    if (wantB8) skip(ctx, 'B8 instant conversion', server.why);
    return;
  }
  let first: PartmanDb;
  try {
    first = await partmanDatabase(server.url, rows);
  } catch (err) {
    const why = `the pg_partman server did not accept a connection (${(err as Error).message}); start it with scripts/install-partman.sh`;
    log(`B2b/B8 skipped: ${why}`);
    skip(ctx, B2B, why);
    if (wantB8) skip(ctx, 'B8 instant conversion', why);
    return;
  }
  let pm: Awaited<ReturnType<typeof measurePartitionDataProc>> | undefined;
  let version = '';
  try {
    log(`B2b: the any-table engine's copy vs partition_data_proc, ${rows} rows, on the pg_partman server`);
    version = await postgresVersion(first.pool);
    pm = await measurePartitionDataProc(first.pool, MONTHS, rows);
    if (ctx.opts.only.has('B2')) {
      const { io } = await preflight(first.profiles, genericInput('copy'));
      await shadowAndSync(first.profiles, io);
      const ours = await runGenericCopy(first.profiles, io);
      if (ours.rows !== rows) throw new Error(`B2b: the engine's copy reported ${ours.rows} rows, the heap holds ${rows}`);
      ctx.entries.push(entry({
        name: B2B, ours: rowsPerSecond(ours.rows, ours.ms), reference: pm.rowsPerSec, unit: 'rows/s', rows, size: rows,
        target: 'ratio ≥ 2.0', met: (r) => r >= 2.0,
        notes: [`same server (${version}, pg_partman ${pm.version}), same data; ${OURS(ours.parallelism, ours.batches)}; partition_data_proc with p_wait 0 (no pause between its monthly batches), one session, moving from a copy of the heap into a create_parent('native','monthly') table. Parallelism: ours ${ours.parallelism} backends, partition_data_proc 1 (it has no parallel mode).`],
      }));
    }
  } finally {
    await first.drop();
  }
  if (wantB8 && pm) await b8(ctx, server.url, rows, pm.ms, version);
}

const phaseText = (r: ConversionRun) => r.phases.map((p) => `${p.phase} ${p.seconds ?? '?'}`).join(', ');

/**
 * B8 at one size: a conversion in mode attach and one in mode copy of the same freshly seeded
 * table, each a whole workflow on a Temporal dev server under the app writer at --write-rate,
 * against partition_data_proc's time on the same data (measured just before, same server).
 */
async function b8(ctx: Ctx, serverUrl: string, rows: number, partmanMs: number, version: string): Promise<void> {
  log(`B8: mode attach vs partition_data_proc (${Math.round(partmanMs)} ms) and vs mode copy's WAL, ${rows} rows, ${ctx.opts.writeRate} writes/s`);
  const temporal: RunningTemporal = await startTemporal();
  ctx.guard.add(temporal.pid);
  const runs: Partial<Record<'copy' | 'attach', ConversionRun>> = {};
  try {
    for (const mode of ['attach', 'copy'] as const) {
      const db = await partmanDatabase(serverUrl, rows);
      try {
        const url = await appRole(db.pool, db.url, 'memory_records');
        runs[mode] = await runConversion(temporal, db.pool, db.profiles, url, mode, ctx.opts.writeRate);
        log(`B8: mode ${mode}: start→swap ${Math.round(runs[mode]!.untilSwapMs)} ms, WAL ${mb(runs[mode]!.walNetBytes)} MB net, longest write ${Math.round(runs[mode]!.stallMs)} ms (during the swap ${Math.round(runs[mode]!.swapStallMs)} ms, writer alone ${Math.round(runs[mode]!.baselineMaxMs)} ms); phases (s): ${phaseText(runs[mode]!)}`);
      } finally {
        await db.drop();
      }
    }
  } finally {
    await temporal.stop();
  }
  const a = runs.attach!;
  const c = runs.copy!;
  const writes = `app writer: ${ctx.opts.writeRate} writes/s (INSERT/UPDATE 1:1) as an unprivileged role, through the whole run`;
  ctx.entries.push(entry({
    name: B8_WALL, ours: Math.round(a.untilSwapMs), reference: Math.round(partmanMs), unit: 'ms', rows, size: rows,
    target: 'ratio ≤ 0.2', met: (r) => r <= 0.2,
    notes: [`same server (${version}), same data; ours: heapToPartitionedConversion mode attach on a Temporal dev server, workflow start → attachSwap completed (history times; whole run ${Math.round(a.wallMs)} ms); swap lock held ${a.lockMs ?? '?'} ms; reference: partition_data_proc's time on the same data (B2b). Mode copy start→swapGeneric: ${Math.round(c.untilSwapMs)} ms. ${writes}.`,
      `Phases of the attach run (s): ${phaseText(a)}. Of the copy run: ${phaseText(c)}.`],
    details: { attach: a, copy: c, partitionDataProcMs: Math.round(partmanMs) },
  }));
  ctx.entries.push(entry({
    name: B8_WAL, ours: mb(a.walNetBytes), reference: mb(c.walNetBytes), unit: 'MB', rows, size: rows,
    ratio: c.walNetBytes > 0 ? Math.round((a.walNetBytes / c.walNetBytes) * 1000) / 1000 : Number.POSITIVE_INFINITY,
    target: 'ratio ≤ 0.25', met: (r) => r <= 0.25,
    notes: [`pg_current_wal_lsn() before the workflow's start and after its result, minus the app writer's own WAL (its rate measured alone for 3 s before: ${mb(a.writerWalBytesPerSec)} / ${mb(c.writerWalBytesPerSec)} MB/s × the run's seconds); gross ${mb(a.walGrossBytes)} MB attach, ${mb(c.walGrossBytes)} MB copy. The server runs full_page_writes = off (scripts/install-partman.sh): with it on both modes write more (full-page images), the copy far more.`],
  }));
  ctx.entries.push(entry({
    name: B8_STALL, ours: Math.round(a.stallMs), reference: 100, unit: 'ms', rows, size: rows,
    target: 'stall ≤ 100 ms, 0 failed writes', met: () => a.stallMs <= 100 && a.failedWrites === 0,
    notes: [
      `longest app write overlapping the attach run (start → result), ${a.writes} writes, ${a.failedWrites} failed${a.failedWrites ? ` (${a.failedExamples.join('; ')})` : ''}; reference = the 100 ms bound.`,
      `Longest write overlapping attachSwap (its one lock-bounded transaction) ${Math.round(a.swapStallMs)} ms; longest in the 3 s the writer ran alone before the run ${Math.round(a.baselineMaxMs)} ms.`,
      `Mode copy: ${Math.round(c.stallMs)} ms over ${c.writes} writes (${Math.round(c.swapStallMs)} ms overlapping swapGeneric, ${Math.round(c.baselineMaxMs)} ms alone before), ${c.failedWrites} failed.`,
    ],
  }));
}
