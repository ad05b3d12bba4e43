import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { startApps, type RunningApps } from '../helpers/app';
import { makeTokenCheck } from '../../src/memory-layer/http/auth';
import { projectRoot } from '../../src/devenv/paths';

const db = useTestDatabase('control');
let apps: RunningApps;
const TOKEN = `tok_${'a1b2c3d4'.repeat(6)}`;

beforeAll(async () => {
  apps = await startApps(1, { dbUrl: db.url, adminToken: TOKEN, bootMode: { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: false } });
});
afterAll(async () => {
  await apps?.stopAll();
});

const ENDPOINTS = ['/admin/export', '/admin/export?limit=10', '/admin/checksum', '/admin/stats', '/admin/records?ids=00000000-0000-0000-0000-000000000000', '/admin/unknown'];
const BAD_AUTH: [string, Record<string, string>][] = [
  ['no Authorization header', {}],
  ['an empty bearer', { authorization: 'Bearer ' }],
  ['a wrong token', { authorization: 'Bearer tok_wrong' }],
  ['the token minus its last character', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
  ['the token plus one character', { authorization: `Bearer ${TOKEN}x` }],
  ['the token in upper case', { authorization: `Bearer ${TOKEN.toUpperCase()}` }],
  ['a lower-case scheme', { authorization: `bearer ${TOKEN}` }],
  ['Basic auth with the token', { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` }],
  ['the token without a scheme', { authorization: TOKEN }],
  ['the token in another header', { 'x-admin-token': TOKEN }],
];

describe('admin API authentication', () => {
  it.each(BAD_AUTH)('rejects %s with 401 on every admin endpoint', async (_name, headers) => {
    for (const ep of ENDPOINTS) {
      const r = await fetch(`${apps.instances[0].url}${ep}`, { headers });
      expect(r.status, `${ep}`).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
      const body = await r.text();
      expect(body).not.toContain(TOKEN);
    }
  });

  it('the token in the query string is not a credential', async () => {
    const r = await fetch(`${apps.instances[0].url}/admin/stats?token=${TOKEN}`);
    expect(r.status).toBe(401);
  });

  it('the right token passes (the 401s above are not a broken route)', async () => {
    const r = await fetch(`${apps.instances[0].url}/admin/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
  });

  it('compares in constant time: sha256 digests of both sides through crypto.timingSafeEqual, no early exit', () => {
    const src = fs.readFileSync(path.join(projectRoot, 'src/memory-layer/http/auth.ts'), 'utf8');
    const code = src.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(code).toMatch(/crypto\.timingSafeEqual\(/);
    // Both sides are digests of the same fixed length, so timingSafeEqual never throws on a length mismatch.
    expect(code.match(/createHash\('sha256'\)/g)?.length).toBe(2);
    // No plain comparison of the token or of the header anywhere.
    expect(code).not.toMatch(/===\s*token|token\s*===|===\s*expected|\.equals\(|startsWith\(token|indexOf\(token/);
    // Any length is handled (a naive timingSafeEqual on raw buffers throws on unequal lengths).
    const check = makeTokenCheck(TOKEN);
    const req = (h?: string) => ({ headers: h === undefined ? {} : { authorization: h } }) as IncomingMessage;
    expect(check(req(`Bearer ${TOKEN}`))).toBe(true);
    for (const h of [undefined, '', 'Bearer x', `Bearer ${TOKEN.repeat(100)}`, `Bearer ${TOKEN.slice(0, 10)}`]) expect(check(req(h))).toBe(false);
  });

  it('statistically: a wrong token sharing a long prefix takes no longer than one sharing nothing (no gross leak)', () => {
    // In-process, interleaved batches, medians: robust against scheduler noise on a busy machine.
    // The bound is deliberately loose (a factor of 2): it catches an implementation whose time
    // grows with the matching prefix (e.g. a byte loop with early exit over a long token), not
    // nanosecond effects, which the structural check above rules out.
    const long = `tok_${'z'.repeat(4000)}`;
    const check = makeTokenCheck(long);
    const near = { headers: { authorization: `Bearer ${long.slice(0, -1)}y` } } as unknown as IncomingMessage;
    const far = { headers: { authorization: `Bearer ${'q'.repeat(long.length)}` } } as unknown as IncomingMessage;
    const batch = (req: IncomingMessage) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 200; i++) check(req);
      return Number(process.hrtime.bigint() - t0);
    };
    for (let i = 0; i < 20; i++) {
      batch(near); // warm-up
      batch(far);
    }
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 60; i++) {
      a.push(batch(near));
      b.push(batch(far));
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
    const ratio = median(a) / median(b);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});
