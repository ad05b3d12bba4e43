import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { HEAP, SELECT_COLUMNS } from '../activities/conversion/sql';
import { rowsPerSecond, timed } from './env';
import { recentMonths } from './data';

/** Where scripts/install-partman.sh writes the URL of its throwaway PostgreSQL 15 cluster. */
export const PARTMAN_URL_FILE = process.env.LICHEN_PARTMAN_URL_FILE ?? path.join(os.homedir(), '.local/state/lichen-cutover/partman.url');

/** The pg_partman server: PARTMAN_DATABASE_URL, else the install script's cluster; or why there is none. */
export function partmanServerUrl(): { url: string } | { why: string } {
  if (process.env.PARTMAN_DATABASE_URL) return { url: process.env.PARTMAN_DATABASE_URL };
  try {
    const url = fs.readFileSync(PARTMAN_URL_FILE, 'utf8').trim();
    if (url) return { url };
  } catch {
    // no cluster from the script
  }
  return { why: `no pg_partman server: set PARTMAN_DATABASE_URL or run scripts/install-partman.sh (writes ${PARTMAN_URL_FILE})` };
}

const SOURCE = 'bench_partman_source';
const TARGET = 'bench_partman_target';

/**
 * pg_partman's own path on the same data: a copy of the heap as the source table, a
 * partman-managed monthly parent (create_parent, native), then
 * `CALL partman.partition_data_proc(…, p_wait := 0)` (no pause between its batches: its best
 * case), which moves the rows one partition interval per batch, committing after each.
 */
export async function measurePartitionDataProc(pool: Pool, months: number, expectedRows: number): Promise<{ rowsPerSec: number; ms: number; version: string }> {
  await pool.query(`CREATE SCHEMA IF NOT EXISTS partman`);
  await pool.query(`CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman`);
  const v = await pool.query<{ v: string }>(`SELECT extversion AS v FROM pg_extension WHERE extname = 'pg_partman'`);
  await pool.query(`CREATE TABLE ${SOURCE} AS SELECT ${SELECT_COLUMNS} FROM ${HEAP}`);
  await pool.query(`VACUUM ANALYZE ${SOURCE}`);
  await pool.query(`CREATE TABLE ${TARGET} (LIKE ${HEAP} INCLUDING DEFAULTS, PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)`);
  await pool.query(`SELECT partman.create_parent($1, 'created_at', 'native', 'monthly', p_premake := 2, p_start_partition := $2, p_jobmon := false)`, [
    `public.${TARGET}`,
    recentMonths(months)[0],
  ]);
  const { ms } = await timed(() =>
    pool.query(`CALL partman.partition_data_proc($1, p_wait := 0, p_source_table := $2, p_quiet := true)`, [`public.${TARGET}`, `public.${SOURCE}`]),
  );
  const moved = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${TARGET}`);
  if (Number(moved.rows[0].n) !== expectedRows) throw new Error(`B2b: partition_data_proc moved ${moved.rows[0].n} rows, expected ${expectedRows}`);
  return { rowsPerSec: rowsPerSecond(expectedRows, ms), ms, version: v.rows[0].v };
}
