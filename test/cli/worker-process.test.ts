import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { projectRoot } from '../../src/devenv/paths';

const db = useTestDatabase('control');

describe('npm run worker (src/worker/main.ts)', () => {
  it('connects through envconfig, logs without the database password, and stops gracefully on SIGTERM', async () => {
    const child = spawn(path.join(projectRoot, 'node_modules/.bin/tsx'), [path.join(projectRoot, 'src/worker/main.ts')], {
      cwd: projectRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml',
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_NAMESPACE: inject('temporalNamespace'),
        LICHEN_TASK_QUEUE: `worker-proc-${process.pid}`,
        DATABASE_URL: db.url,
        LICHEN_ADMIN_TOKEN: 'tok_never_printed_0123',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 150_000; // bundling the workflows alone can take 20 s on a loaded machine
      while (!out.includes('"worker started"') && Date.now() < deadline) {
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(out, out).toContain('"worker started"');
      const started = JSON.parse(out.split('\n').find((l) => l.includes('"worker started"'))!) as { taskQueue: string; namespace: string; workflows: string; versioning: string; dbProfiles: { profile: string; url: string }[]; adminTokenRefs: string[] };
      // From source: the workflows are bundled from workflows/index.ts (a clone's dist/, even when built, is not loaded) and the worker is unversioned.
      expect(started.workflows).toBe(`source ${path.join(projectRoot, 'workflows', 'index.ts')} (bundled at start)`);
      expect(started.versioning).toBe('off (unversioned worker)');
      expect(started.taskQueue).toBe(`worker-proc-${process.pid}`);
      expect(started.namespace).toBe(inject('temporalNamespace'));
      expect(started.dbProfiles).toEqual([{ profile: 'default', url: expect.stringContaining(':***@'), from: 'DATABASE_URL' }]);
      expect(started.adminTokenRefs).toEqual(['default']);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('"worker stopped"');
      const password = new URL(db.url).password;
      if (password) expect(out).not.toContain(password);
      expect(out).not.toContain('tok_never_printed_0123');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
