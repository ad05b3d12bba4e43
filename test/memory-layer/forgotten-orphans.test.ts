import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { setMode } from '../../src/memory-layer/control-plane';
import { forgetInstance, ForgetRefusedError } from '../../src/memory-layer/fleet';
import { createMemoryService, type MemoryService } from '../../src/memory-layer/server';
import type { Logger } from '../../src/memory-layer/logger';
import { startLoad } from '../../src/loadgen/generator';
import { checkOracle, postgresReader } from '../../src/loadgen/oracle';
import type { PersistenceMode } from '../../workflows/types';
import { appRoleUrl } from '../helpers/app-role';
import { useTestDatabase } from '../helpers/db';
import { ackedAtLeast } from '../helpers/load';
import { expectNothingLost } from '../helpers/cutover-env';
import { hostPort, startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { runCli } from '../cli/run-cli';
import { admin, call, sample } from './http';

/**
 * Issue 24, item 3: an instance that comes back after an operator forgot it never drops its
 * memory-only records silently — it reports them (a log line, memory_orphan_records,
 * GET /admin/orphans) and `cutover orphans backfill` writes them to Postgres.
 */
const db = useTestDatabase('partitioned');
const TARGET = 'memory_records';
const TOKEN = 'orphans-test-token-0123456789';
const MEMORY: PersistenceMode = { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: true };
const POSTGRES: PersistenceMode = { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: true };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let proxy: TcpProxy | undefined;
let service: MemoryService | undefined;
afterEach(async () => {
  proxy?.restore();
  await service?.stop();
  await proxy?.close();
  service = proxy = undefined;
});

interface Orphans {
  forgotten: { forgottenAt: string; forgottenBy: string; reason: string } | null;
  scannedAt: string | null;
  total: number;
  records: { id: string }[];
  deleted: unknown[];
}

describe('an instance back after being forgotten', () => {
  it('reports the records only its memory holds, and cutover orphans backfill writes them to Postgres (oracle at zero)', async () => {
    const lines: { level: string; msg: string }[] = [];
    const logger: Logger = {
      info: (msg) => lines.push({ level: 'info', msg }),
      warn: (msg) => lines.push({ level: 'warn', msg }),
      error: (msg) => lines.push({ level: 'error', msg }),
    };
    const { host, port } = hostPort(db.url);
    proxy = await startTcpProxy(host, port);
    const instanceId = `orphan-${Date.now().toString(36)}`;
    service = await createMemoryService({ instanceId, databaseUrl: proxy.rewrite(await appRoleUrl(db.url)), adminToken: TOKEN, bootMode: MEMORY, heartbeatMs: 200, leaseMs: 1_500, logger });
    const url = service.url;

    // Phase 2 (memory only) under load: every acknowledged write is in this memory alone.
    const load = startLoad({ instances: [url], ratePerSec: 80, owners: 10 });
    await ackedAtLeast(load, 200);
    // One record an earlier back-fill copied to Postgres, then deleted here (memory only): a delete Postgres has not seen.
    const gone = (await call(url, 'POST', '/records', { ownerId: 'gone', content: 'copied, then deleted' })).body;
    await db.pool.query(
      `INSERT INTO memory_records (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at) VALUES ($1, 'gone', NULL, $2, $3, '{}'::jsonb, $4, $5)`,
      [gone.id, gone.kind, gone.content, gone.createdAt, gone.updatedAt],
    );
    expect((await call(url, 'DELETE', `/records/${gone.id}`)).status).toBe(204);
    proxy.cut();
    // Cut off: it fails closed once its lease expired; the operator forgets it once it is silent.
    let forgot;
    for (const deadline = Date.now() + 30_000; !forgot; await sleep(200)) {
      forgot = await forgetInstance(db.pool, { target: TARGET, instanceId, operator: 'olga', reason: 'host unreachable', heartbeatTtlMs: 2_000 }).catch((err: Error) => {
        if (!(err instanceof ForgetRefusedError) || Date.now() > deadline) throw err;
        return undefined;
      });
    }
    const log = await load.stop();
    // The fleet moves on without it (the final cutover: Postgres only).
    await setMode(db.pool, { target: TARGET, mode: POSTGRES, actor: 'test', reason: 'final cutover without the forgotten instance' });
    const pool = new Pool({ connectionString: db.url, max: 2 });
    try {
      const before = await checkOracle(log, postgresReader(pool));
      expect(before.missing).toBeGreaterThan(0); // what only its memory holds

      proxy.restore();
      let report: Orphans | undefined;
      for (const deadline = Date.now() + 30_000; !report?.scannedAt; await sleep(200)) {
        const r = await call<Orphans>(url, 'GET', '/admin/orphans', undefined, admin(TOKEN));
        expect(r.status).toBe(200);
        if (r.body.scannedAt) report = r.body;
        if (Date.now() > deadline) throw new Error(`no orphan report within 30 s: ${JSON.stringify(r.body)}`);
      }
      const inMemory = service.memory.stats().count;
      expect(inMemory).toBeGreaterThan(0);
      expect({ forgotten: report!.forgotten, total: report!.total, deleted: report!.deleted.map((d) => (d as { id: string }).id) }).toEqual({
        forgotten: { forgottenAt: forgot.forgottenAt, forgottenBy: 'olga', reason: 'host unreachable' },
        total: inMemory, // Postgres has none of them
        deleted: [gone.id],
      });
      expect(sample(await service.metricsText(), 'memory_orphan_records', { kind: 'delete' })).toBe(1);
      expect(sample(await service.metricsText(), 'memory_orphan_records', { kind: 'record' })).toBe(inMemory);
      expect(lines.some((l) => l.level === 'warn' && new RegExp(`back after being forgotten: ${inMemory} record\\(s\\).*cutover orphans backfill --instance ${instanceId}`).test(l.msg))).toBe(true);

      const run = await runCli(['orphans', 'backfill', '--instance', instanceId, '--profile', 'test', '--admin-token-ref', 'fleet', '--json'], {
        LICHEN_DB_PROFILE_TEST: db.url,
        LICHEN_ADMIN_TOKEN_FLEET: TOKEN,
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.json()).toMatchObject({ written: inMemory, deletesApplied: 1, left: { records: 0, deletes: 0 } });
      expect((await db.pool.query('SELECT 1 FROM memory_records WHERE id = $1', [gone.id])).rowCount).toBe(0);
      expect((await db.pool.query('SELECT 1 FROM memory_record_tombstones WHERE id = $1', [gone.id])).rowCount).toBe(1);
      expect((await call<Orphans>(url, 'GET', '/admin/orphans', undefined, admin(TOKEN))).body.total).toBe(0);
      expect(sample(await service.metricsText(), 'memory_orphan_records', { kind: 'record' })).toBe(0);
      expectNothingLost(await checkOracle(log, postgresReader(pool)));
    } finally {
      await pool.end();
    }
  });
});
