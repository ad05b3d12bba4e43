/**
 * Starts the embedded PostgreSQL the way the harness does, runs one query, prints one JSON
 * line and stops it: who the server runs as (the OS user of its backend process), where its
 * binaries and data live. Used by test/devenv/clone-0700.test.ts in a fresh clone.
 *
 *   npx tsx scripts/pg-smoke.ts
 */
import fs from 'node:fs';
import { Client } from 'pg';
import { startPostgres } from '../src/devenv/postgres';
import { formatSetupError, SetupError } from '../src/devenv/setup-error';

async function main(): Promise<void> {
  const pg = await startPostgres({ databaseUrl: '' });
  try {
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    const { rows } = await c.query<{ user: string; pid: number; one: number }>('SELECT current_user AS user, pg_backend_pid() AS pid, 1 AS one');
    // Read while the connection is open: its backend process exits when the client ends.
    const status = fs.readFileSync(`/proc/${rows[0].pid}/status`, 'utf8');
    await c.end();
    const osUid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    process.stdout.write(`${JSON.stringify({ ...rows[0], osUid, binaries: pg.binaries, dataDir: pg.dataDir })}\n`);
  } finally {
    await pg.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(err instanceof SetupError ? formatSetupError(err, 'pg-smoke') : `pg-smoke failed: ${String(err)}\n`);
  process.exit(1);
});
