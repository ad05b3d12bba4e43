import { describe, expect, it } from 'vitest';
import { listInstances, setMode, waitForEpoch } from '../../src/memory-layer/control-plane';
import { spawnAppProcess } from '../helpers/app';
import { useTestDatabase } from '../helpers/db';
import { call } from './http';

const db = useTestDatabase('partitioned');
const TOKEN = 'process-test-token-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('npm run server (a child process)', () => {
  it('serves, then leaves the control plane cleanly on SIGTERM', async () => {
    const app = await spawnAppProcess({ dbUrl: db.url, adminToken: TOKEN, instanceId: 'proc-term' });
    try {
      expect((await call(app.url, 'POST', '/records', { ownerId: 'p', content: 'c' })).status).toBe(201);
      expect((await call(app.url, 'GET', '/admin/stats', undefined, { authorization: `Bearer ${TOKEN}` })).body.count).toBe(1);
      app.kill('SIGTERM');
      expect(await app.exited).toEqual({ code: 0, signal: null });
      const me = (await listInstances(db.pool, 'memory_records')).find((i) => i.instanceId === 'proc-term');
      expect(me?.stoppedAt).toBeInstanceOf(Date);
      expect(app.stderr()).not.toContain(TOKEN); // the token is never logged
      expect(app.stderr()).not.toContain(new URL(db.url).password || '\u0000');
    } finally {
      app.kill('SIGKILL');
    }
  });

  it('drops a SIGKILLed instance from the barrier once its heartbeat is older than the TTL', async () => {
    const app = await spawnAppProcess({ dbUrl: db.url, adminToken: TOKEN, instanceId: 'proc-kill' });
    app.kill('SIGKILL');
    expect((await app.exited).signal).toBe('SIGKILL');
    const { epoch } = await setMode(db.pool, {
      target: 'memory_records',
      mode: { persistence: 'dual-write', primary: 'memory', failFast: false, dualWriteEnabled: true },
      actor: 'test',
      reason: 'after a crash',
    });
    // Within the TTL the dead instance still counts as live, and blocks the barrier by name.
    await expect(waitForEpoch(db.pool, { target: 'memory_records', epoch, timeoutMs: 300, heartbeatTtlMs: 60_000 })).rejects.toThrow(/proc-kill/);
    await sleep(1_200);
    const r = await waitForEpoch(db.pool, { target: 'memory_records', epoch, timeoutMs: 1_000, heartbeatTtlMs: 1_000 });
    expect(r.acknowledged).not.toContain('proc-kill');
  });

  it('refuses to start on a bad persistence variable, naming it', async () => {
    await expect(spawnAppProcess({ dbUrl: db.url, adminToken: TOKEN, env: { PERSISTENCE: 'redis' } })).rejects.toThrow(/exited \(code 2[^]*PERSISTENCE=.*redis.* is not allowed; use one of: memory, dual-write, postgres/);
  });
});
